/// A topic the topology needs the runtime to create (or validate) before it runs.
public struct InternalTopicRequirement: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Carries records between sub-topologies after a key change; deleted once consumed.
        case repartition
        /// Backs up a store; compacted.
        case changelog(store: String)
    }

    /// How many partitions the topic needs.
    public enum PartitionCount: Sendable, Equatable {
        /// Set explicitly (`Repartitioned.withNumberOfPartitions`).
        case fixed(Int32)
        /// The largest partition count among these topics: for a repartition topic, the source
        /// topics of the sub-topologies that write to it; for a changelog, the source topics of
        /// its store's sub-topology (one task, hence one changelog partition, per partition).
        case maxOf([String])
    }

    /// The full name, with the application id.
    public let name: String
    public let kind: Kind
    public let partitions: PartitionCount
    /// Topic configs to create it with.
    public let configs: [String: String]

    public var description: String { "\(name) (\(kind), \(partitions))" }
}

extension Topology {
    /// Topics read by the topology that the user provides.
    public func sourceTopics(applicationId: String) -> [String] {
        nodes.flatMap(\.sourceTopics).filter { !$0.isInternal }.map { $0.resolved(applicationId: applicationId) }
    }

    /// Every internal topic: repartition topics, then changelogs, in the order they were declared.
    public func internalTopics(applicationId: String) -> [InternalTopicRequirement] {
        let layout = subtopologies
        func sources(of subtopology: Subtopology) -> [String] {
            subtopology.sourceTopics.map { $0.resolved(applicationId: applicationId) }
        }
        var result: [InternalTopicRequirement] = []
        for topic in repartitionTopics {
            let name = TopicName.internal(topic.name)
            let writers = layout.filter { $0.sinkTopics.contains(name) }
            result.append(InternalTopicRequirement(
                name: name.resolved(applicationId: applicationId),
                kind: .repartition,
                partitions: topic.partitions.map { .fixed($0) } ?? .maxOf(writers.flatMap(sources)),
                configs: [
                    "cleanup.policy": "delete",
                    "retention.ms": "-1",
                    "segment.bytes": "52428800",
                ]
            ))
        }
        for store in stores where store.loggingEnabled {
            guard let owner = layout.first(where: { $0.storeNames.contains(store.name) }) else { continue }
            var configs = store.changelogConfig
            configs["cleanup.policy"] = configs["cleanup.policy"] ?? "compact"
            result.append(InternalTopicRequirement(
                name: Self.changelogTopic(of: store.name).resolved(applicationId: applicationId),
                kind: .changelog(store: store.name),
                partitions: .maxOf(sources(of: owner)),
                configs: configs
            ))
        }
        return result
    }

    /// The changelog topic of a store.
    static func changelogTopic(of store: String) -> TopicName {
        .internal("\(store)-changelog")
    }

    /// Groups of topics that must have equal partition counts because they are joined, each
    /// sorted, with full names.
    public func copartitionGroups(applicationId: String) -> [[String]] {
        copartitionedSources.map { sourceNames in
            Set(sourceNames.compactMap { node(named: $0) }.flatMap(\.sourceTopics)
                .map { $0.resolved(applicationId: applicationId) }).sorted()
        }
    }

    /// The partition count of every internal topic, given those of the user's source topics.
    ///
    /// Repartition topics without an explicit count take the largest count among the source
    /// topics of the sub-topologies writing to them (resolved in dependency order, since those
    /// may be repartition topics themselves). Then joined topics are made co-partitioned:
    /// internal topics of a co-partition group take the count of its user topics, which must
    /// agree (or, with none, the group's largest). Changelogs come last, one partition per task.
    public func internalTopicPartitionCounts(
        applicationId: String, sourceTopicPartitions: [String: Int32]
    ) throws -> [String: Int32] {
        let requirements = internalTopics(applicationId: applicationId)
        let repartition = requirements.filter { $0.kind == .repartition }
        let internalNames = Set(repartition.map(\.name))
        var counts = sourceTopicPartitions
        var pinned: Set<String> = []  // set by co-partitioning: not recomputed from upstream

        func resolveRepartitionTopics() {
            var changed = true
            while changed {
                changed = false
                for topic in repartition where !pinned.contains(topic.name) {
                    let count: Int32?
                    switch topic.partitions {
                    case .fixed(let n): count = n
                    case .maxOf(let upstream):
                        let known = upstream.compactMap { counts[$0] }
                        count = known.count == upstream.count ? known.max() : nil
                    }
                    if let count, counts[topic.name] != count {
                        counts[topic.name] = count
                        changed = true
                    }
                }
            }
        }

        for _ in 0...max(1, copartitionedSources.count) {
            resolveRepartitionTopics()
            var adjusted = false
            for group in copartitionGroups(applicationId: applicationId) {
                let external = group.filter { !internalNames.contains($0) }
                let internalTopics = group.filter { internalNames.contains($0) }
                let target: Int32
                if !external.isEmpty {
                    for topic in external where counts[topic] == nil { throw TopologyError.unknownPartitionCount(topic: topic) }
                    let distinct = Set(external.compactMap { counts[$0] })
                    guard distinct.count == 1, let only = distinct.first else {
                        throw TopologyError.copartitioning(topics: group, partitionCounts: counts.filter { group.contains($0.key) })
                    }
                    target = only
                } else {
                    guard let largest = internalTopics.compactMap({ counts[$0] }).max() else { continue }
                    target = largest
                }
                for topic in internalTopics where counts[topic] != target {
                    if case .fixed(let n)? = repartition.first(where: { $0.name == topic })?.partitions, n != target {
                        var conflicting = counts.filter { group.contains($0.key) }
                        conflicting[topic] = n
                        throw TopologyError.copartitioning(topics: group, partitionCounts: conflicting)
                    }
                    counts[topic] = target
                    pinned.insert(topic)
                    adjusted = true
                }
            }
            if !adjusted { break }
        }

        var result: [String: Int32] = [:]
        for requirement in requirements {
            switch requirement.kind {
            case .repartition:
                guard let count = counts[requirement.name] else {
                    if case .maxOf(let upstream) = requirement.partitions,
                       let missing = upstream.first(where: { counts[$0] == nil }) {
                        throw TopologyError.unknownPartitionCount(topic: missing)
                    }
                    throw TopologyError.unknownPartitionCount(topic: requirement.name)
                }
                result[requirement.name] = count
            case .changelog:
                guard case .maxOf(let upstream) = requirement.partitions else { continue }
                if let missing = upstream.first(where: { counts[$0] == nil }) {
                    throw TopologyError.unknownPartitionCount(topic: missing)
                }
                result[requirement.name] = upstream.compactMap { counts[$0] }.max() ?? 1
            }
        }
        return result
    }
}

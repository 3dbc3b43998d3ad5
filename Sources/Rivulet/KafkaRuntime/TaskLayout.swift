import KafkaProtocol

/// Which partitions make up which task: the part of a topology that the group leader's
/// assignor and the stream threads need, with internal topic names resolved.
///
/// Task `s_p` reads partition `p` of every source topic of sub-topology `s` that has one; a
/// sub-topology has as many tasks as its source topic with the most partitions.
public struct TaskLayout: Sendable, Hashable {
    /// Source topics per sub-topology id, full names.
    public let sourceTopics: [Int: [String]]
    /// Groups of topics that are joined and must have equal partition counts.
    public let copartitionGroups: [[String]]

    /// A layout given directly (the assignor's tests use it).
    public init(sourceTopics: [Int: [String]], copartitionGroups: [[String]]) {
        self.sourceTopics = sourceTopics
        self.copartitionGroups = copartitionGroups
    }

    /// The layout of a topology run as `applicationId`.
    public init(topology: Topology, applicationId: String) {
        var sources: [Int: [String]] = [:]
        for subtopology in topology.subtopologies {
            sources[subtopology.id] = subtopology.sourceTopics.map { $0.resolved(applicationId: applicationId) }
        }
        self.init(sourceTopics: sources, copartitionGroups: topology.copartitionGroups(applicationId: applicationId))
    }

    /// Every topic the application's consumers subscribe to.
    public var allSourceTopics: Set<String> { Set(sourceTopics.values.joined()) }

    /// The sub-topology reading a topic.
    public func subtopology(reading topic: String) -> Int? {
        sourceTopics.first { $0.value.contains(topic) }?.key
    }

    /// The task a partition belongs to.
    public func task(of partition: TopicPartition) -> TaskId? {
        subtopology(reading: partition.topic).map { TaskId(subtopology: $0, partition: partition.partition) }
    }

    /// Joined topics whose partition counts differ, as the error that names them.
    public func copartitioningViolation(partitionCounts: [String: Int32]) -> TopologyError? {
        for group in copartitionGroups {
            let counts = group.compactMap { topic in partitionCounts[topic].map { (topic, $0) } }
            if Set(counts.map(\.1)).count > 1 {
                return .copartitioning(topics: group, partitionCounts: Dictionary(uniqueKeysWithValues: counts))
            }
        }
        return nil
    }

    /// Every task with its input partitions, given the partition counts of the source topics.
    /// A sub-topology with a source topic of unknown count has no tasks.
    public func tasks(partitionCounts: [String: Int32]) -> [TaskId: [TopicPartition]] {
        var result: [TaskId: [TopicPartition]] = [:]
        for (subtopology, topics) in sourceTopics {
            let counts = topics.map { partitionCounts[$0] }
            guard !topics.isEmpty, counts.allSatisfy({ $0 != nil }) else { continue }
            let taskCount = counts.compactMap { $0 }.max() ?? 0
            for partition in 0..<taskCount {
                result[TaskId(subtopology: subtopology, partition: partition)] = zip(topics, counts).compactMap { topic, count in
                    partition < count! ? TopicPartition(topic: topic, partition: partition) : nil
                }
            }
        }
        return result
    }
}

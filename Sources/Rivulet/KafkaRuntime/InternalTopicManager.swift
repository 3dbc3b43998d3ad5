import KafkaClient
import KafkaProtocol
import Logging

/// Sets a topology up on a cluster before its threads start: the source topics must exist and
/// joined ones must be co-partitioned; repartition and changelog topics are created with the
/// partition counts the topology needs (or checked, when they exist).
struct InternalTopicManager {
    let admin: KafkaAdmin
    let config: StreamsConfig
    let logger: Logger

    /// Returns the partition counts of the topics the topology writes (sinks), as known now.
    func prepare(_ topology: Topology) async throws -> [String: Int32] {
        let applicationId = config.applicationId
        let sources = Array(Set(topology.sourceTopics(applicationId: applicationId))).sorted()
        let metadata = try await admin.cluster.refreshMetadata(topics: sources)
        let sourceCounts = metadata.partitionCounts(of: Set(sources))
        let missing = sources.filter { sourceCounts[$0] == nil }
        guard missing.isEmpty else {
            throw StreamsError.setup("source topics do not exist: \(missing.joined(separator: ", ")); create them before starting \(applicationId)")
        }
        // Throws TopologyError.copartitioning, naming joined topics and their counts.
        let needed = try topology.internalTopicPartitionCounts(applicationId: applicationId, sourceTopicPartitions: sourceCounts)
        let requirements = topology.internalTopics(applicationId: applicationId)
        if !requirements.isEmpty {
            let existing = try await admin.cluster.refreshMetadata(topics: requirements.map(\.name))
                .partitionCounts(of: Set(requirements.map(\.name)))
            let toCreate = requirements.filter { existing[$0.name] == nil }.map { requirement in
                NewTopic(name: requirement.name, partitions: needed[requirement.name] ?? 1,
                         replicationFactor: config.replicationFactor, configs: requirement.configs)
            }
            if !toCreate.isEmpty {
                logger.info("creating internal topics \(toCreate.map { "\($0.name) (\($0.partitions) partitions)" })")
                try await admin.createTopics(toCreate, ifNotExists: true)
            }
            let created = try await admin.cluster.refreshMetadata(topics: requirements.map(\.name))
                .partitionCounts(of: Set(requirements.map(\.name)))
            for requirement in requirements {
                guard let count = created[requirement.name] else {
                    throw StreamsError.setup("internal topic \(requirement.name) was not created")
                }
                if let wanted = needed[requirement.name], count != wanted {
                    throw StreamsError.setup(
                        "internal topic \(requirement.name) has \(count) partitions, but the topology needs \(wanted): delete it (and reset the application) or match the source topics")
                }
            }
        }
        let sinks = Set(topology.subtopologies.flatMap(\.sinkTopics).map { $0.resolved(applicationId: applicationId) })
        guard !sinks.isEmpty else { return [:] }
        return try await admin.cluster.refreshMetadata(topics: sinks.sorted()).partitionCounts(of: sinks)
    }
}

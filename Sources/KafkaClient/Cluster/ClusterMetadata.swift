import KafkaProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A snapshot of the cluster: brokers, topics, partitions and their leaders.
public struct ClusterMetadata: Sendable {
    public struct Broker: Sendable, Hashable {
        public var nodeId: Int32
        public var address: BrokerAddress
        public var rack: String?
    }

    public struct Partition: Sendable, Hashable {
        public var partition: Int32
        public var leader: Int32
        public var leaderEpoch: Int32
        public var replicas: [Int32]
        public var inSyncReplicas: [Int32]
        public var error: KafkaErrorCode
    }

    public struct Topic: Sendable {
        public var name: String
        public var id: UUID
        public var isInternal: Bool
        public var partitions: [Partition]
        public var error: KafkaErrorCode
    }

    public var clusterId: String?
    public var controllerId: Int32
    public var brokers: [Int32: Broker]
    public var topics: [String: Topic]

    public init(clusterId: String? = nil, controllerId: Int32 = -1, brokers: [Int32: Broker] = [:], topics: [String: Topic] = [:]) {
        self.clusterId = clusterId
        self.controllerId = controllerId
        self.brokers = brokers
        self.topics = topics
    }

    init(_ response: MetadataResponse) {
        var brokers: [Int32: Broker] = [:]
        for broker in response.brokers {
            brokers[broker.nodeId] = Broker(nodeId: broker.nodeId, address: BrokerAddress(host: broker.host, port: Int(broker.port)), rack: broker.rack)
        }
        var topics: [String: Topic] = [:]
        for topic in response.topics {
            guard let name = topic.name else { continue }
            let partitions = topic.partitions.map {
                Partition(partition: $0.partitionIndex, leader: $0.leaderId, leaderEpoch: $0.leaderEpoch, replicas: $0.replicaNodes,
                          inSyncReplicas: $0.isrNodes, error: KafkaErrorCode($0.errorCode))
            }.sorted { $0.partition < $1.partition }
            topics[name] = Topic(name: name, id: topic.topicId, isInternal: topic.isInternal, partitions: partitions, error: KafkaErrorCode(topic.errorCode))
        }
        self.init(clusterId: response.clusterId, controllerId: response.controllerId, brokers: brokers, topics: topics)
    }

    /// Merges a partial refresh (some topics) into this snapshot.
    ///
    /// A partition whose answer names an older leader epoch than the cached one keeps its cached
    /// entry (KIP-320): the answer came from a broker whose metadata lags, and following it would
    /// send requests back to a leader that has already been replaced. The rest of the answer is
    /// taken. A topic whose id changed was deleted and recreated; its epochs start again.
    mutating func merge(_ other: ClusterMetadata, replacingAllTopics: Bool) {
        clusterId = other.clusterId ?? clusterId
        controllerId = other.controllerId
        brokers = other.brokers.isEmpty ? brokers : other.brokers
        let cached = topics
        if replacingAllTopics { topics = [:] }
        for (name, topic) in other.topics { topics[name] = Self.keepingNewerLeaderEpochs(topic, cached: cached[name]) }
    }

    /// `fresh`, with each partition whose leader epoch is older than in `cached` replaced by the cached entry.
    private static func keepingNewerLeaderEpochs(_ fresh: Topic, cached: Topic?) -> Topic {
        guard let cached else { return fresh }
        if fresh.id != UUID.kafkaZero && fresh.id != cached.id { return fresh }
        var merged = fresh
        for index in merged.partitions.indices {
            let epoch = merged.partitions[index].leaderEpoch
            // -1: the broker does not report epochs (Metadata before v7); nothing to compare.
            guard epoch >= 0, let known = cached.partitions.first(where: { $0.partition == merged.partitions[index].partition }),
                  epoch < known.leaderEpoch else { continue }
            merged.partitions[index] = known
        }
        return merged
    }

    /// The leader epoch of a partition as metadata reports it, or -1 when unknown: what Fetch and
    /// ListOffsets send as `currentLeaderEpoch`, so a broker whose leadership is newer or older
    /// than the client's view answers FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH.
    public func leaderEpoch(for partition: TopicPartition) -> Int32 {
        topics[partition.topic]?.partitions.first(where: { $0.partition == partition.partition })?.leaderEpoch ?? -1
    }

    /// The leader of a partition, or nil when unknown or leaderless.
    public func leader(for partition: TopicPartition) -> Int32? {
        guard let topic = topics[partition.topic], topic.error == .noError,
              let entry = topic.partitions.first(where: { $0.partition == partition.partition }), entry.leader >= 0 else { return nil }
        return entry.leader
    }
}

import Foundation
import KafkaProtocol
import Testing
@testable import KafkaClient

/// `ClusterMetadata.merge` keeps a partition's newer leader epoch (KIP-320): an answer from a
/// broker whose metadata lags must not take the client back to a leader that was replaced.
@Suite struct ClusterMetadataMergeTests {
    private static let topicId = UUID()
    private static let node1 = ClusterMetadata.Broker(nodeId: 1, address: BrokerAddress(host: "127.0.0.1", port: 9001), rack: nil)
    private static let node2 = ClusterMetadata.Broker(nodeId: 2, address: BrokerAddress(host: "127.0.0.1", port: 9002), rack: nil)

    private static func partition(_ index: Int32, leader: Int32, epoch: Int32, isr: [Int32] = [1, 2]) -> ClusterMetadata.Partition {
        ClusterMetadata.Partition(partition: index, leader: leader, leaderEpoch: epoch, replicas: [1, 2], inSyncReplicas: isr, error: .noError)
    }

    private static func topic(_ name: String, id: UUID = topicId, _ partitions: [ClusterMetadata.Partition]) -> (String, ClusterMetadata.Topic) {
        (name, ClusterMetadata.Topic(name: name, id: id, isInternal: false, partitions: partitions, error: .noError))
    }

    private static func snapshot(brokers: [ClusterMetadata.Broker], _ topics: [(String, ClusterMetadata.Topic)]) -> ClusterMetadata {
        ClusterMetadata(controllerId: 1, brokers: Dictionary(uniqueKeysWithValues: brokers.map { ($0.nodeId, $0) }),
                        topics: Dictionary(uniqueKeysWithValues: topics))
    }

    @Test(arguments: [false, true])
    func aPartitionAtAnOlderLeaderEpochKeepsItsCachedEntryAndTheRestOfTheAnswerIsTaken(replacingAllTopics: Bool) {
        let oldPaymentsId = UUID()
        let newPaymentsId = UUID()
        var cached = Self.snapshot(brokers: [Self.node1, Self.node2], [
            Self.topic("orders", [Self.partition(0, leader: 2, epoch: 5), Self.partition(1, leader: 1, epoch: 3),
                                  Self.partition(2, leader: 1, epoch: 7), Self.partition(3, leader: 2, epoch: 2)]),
            Self.topic("payments", id: oldPaymentsId, [Self.partition(0, leader: 2, epoch: 9)]),
        ])
        // From a broker whose metadata lags on partition 0 only.
        let answer = Self.snapshot(brokers: [Self.node1], [
            Self.topic("orders", [
                Self.partition(0, leader: 1, epoch: 4),                 // older: ignored
                Self.partition(1, leader: 2, epoch: 4),                 // newer: taken
                Self.partition(2, leader: 1, epoch: 7, isr: [1]),       // same epoch, ISR shrank: taken
                Self.partition(3, leader: 1, epoch: -1),                // no epoch (Metadata before v7): taken
            ]),
            // Deleted and recreated: a new id, epochs start again.
            Self.topic("payments", id: newPaymentsId, [Self.partition(0, leader: 1, epoch: 0)]),
            Self.topic("audit", [Self.partition(0, leader: 1, epoch: 0)]),
        ])
        cached.merge(answer, replacingAllTopics: replacingAllTopics)

        func entry(_ topic: String, _ index: Int32) -> ClusterMetadata.Partition? {
            cached.topics[topic]?.partitions.first { $0.partition == index }
        }
        #expect(entry("orders", 0) == Self.partition(0, leader: 2, epoch: 5))
        #expect(entry("orders", 1) == Self.partition(1, leader: 2, epoch: 4))
        #expect(entry("orders", 2) == Self.partition(2, leader: 1, epoch: 7, isr: [1]))
        #expect(entry("orders", 3) == Self.partition(3, leader: 1, epoch: -1))
        #expect(cached.topics["payments"]?.id == newPaymentsId)
        #expect(entry("payments", 0) == Self.partition(0, leader: 1, epoch: 0))
        #expect(entry("audit", 0) == Self.partition(0, leader: 1, epoch: 0))
        #expect(cached.brokers.keys.sorted() == [1])
        #expect(cached.leader(for: TopicPartition("orders", 0)) == 2)
        #expect(cached.leaderEpoch(for: TopicPartition("orders", 0)) == 5)
        #expect(cached.leaderEpoch(for: TopicPartition("orders", 9)) == -1)
    }
}

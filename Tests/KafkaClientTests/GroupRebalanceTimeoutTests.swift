import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// The dev broker's group coordinator drops a member that does not rejoin within its rebalance
/// timeout, well before its session would expire, so the rest of the group is not held up.
@Suite struct GroupRebalanceTimeoutTests {
    @Test func aMemberThatDoesNotRejoinInTimeIsDroppedFromTheRebalance() async throws {
        try await withBroker { broker in
            try await broker.createTopic("slow", partitions: 2)
            let coordinator = try await broker.cluster.coordinator(for: "sleepy-group", type: .group)
            let metadata = try ConsumerProtocolCodec.encodeSubscription(
                ConsumerProtocolCodec.subscription(topics: ["slow"], userData: nil, owned: [], generationId: -1, rackId: nil))

            // A member that joins once (rebalance timeout 1.5 s, session 20 s) and then stays silent.
            func join(memberId: String) async throws -> JoinGroupResponse {
                try await broker.cluster.send(JoinGroupRequest(
                    groupId: "sleepy-group", sessionTimeoutMs: 20_000, rebalanceTimeoutMs: 1_500, memberId: memberId,
                    protocolType: "consumer", protocols: [JoinGroupRequest.JoinGroupRequestProtocol(name: "range", metadata: metadata)]),
                    toNode: coordinator)
            }
            var joined = try await join(memberId: "")
            if KafkaErrorCode(joined.errorCode) == .memberIdRequired { joined = try await join(memberId: joined.memberId) }
            #expect(joined.errorCode == 0)
            let sync = try await broker.cluster.send(SyncGroupRequest(
                groupId: "sleepy-group", generationId: joined.generationId, memberId: joined.memberId,
                protocolType: "consumer", protocolName: "range", assignments: []), toNode: coordinator)
            #expect(sync.errorCode == 0)

            // A real consumer joins: the silent member is expected to rejoin within 1.5 s and does not.
            let started = ContinuousClock.now
            // (The group waits for the longest rebalance timeout among its members, so the consumer's is short too.)
            var configuration = try testConfiguration(broker, group: "sleepy-group")
            configuration.rebalanceTimeout = .milliseconds(1_500)
            let consumer = KafkaConsumer(configuration: configuration)
            try await consumer.subscribe(topics: ["slow"])
            #expect(try await eventually(timeout: .seconds(15)) {
                _ = try await consumer.poll(timeout: .milliseconds(100))
                return await consumer.assignment() == [TopicPartition("slow", 0), TopicPartition("slow", 1)]
            })
            let waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(1_000), "the rebalance completed before the silent member's rebalance timeout")
            #expect(waited < .seconds(10), "the rebalance waited for the silent member's 20 s session instead of its rebalance timeout")
            let group = try await KafkaAdmin(cluster: broker.cluster).describeGroup("sleepy-group")
            #expect(group.members.count == 1)
            #expect(group.members.first?.memberId != joined.memberId)
            await consumer.close()
        }
    }
}

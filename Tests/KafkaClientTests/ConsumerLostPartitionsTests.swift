import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Synchronization
import Testing
@testable import KafkaClient

/// The `onLost` rebalance callback: a member the coordinator no longer knows reports its
/// partitions lost (not revoked), then rejoins and is assigned again.
@Suite struct ConsumerLostPartitionsTests {
    @Test func partitionsAreReportedLostWhenTheCoordinatorDropsTheMember() async throws {
        try await withBroker { broker in
            try await broker.createTopic("watched", partitions: 2)
            let events = Mutex<[String]>([])
            @Sendable func record(_ kind: String, _ partitions: [TopicPartition]) {
                events.withLock { $0.append("\(kind) \(partitions.sorted().map(\.description).joined(separator: ","))") }
            }
            let listener = RebalanceListener(onAssigned: { record("assigned", $0) }, onRevoked: { record("revoked", $0) },
                                             onLost: { record("lost", $0) })
            let consumer = KafkaConsumer(configuration: try testConfiguration(broker, group: "watchers"))
            try await consumer.subscribe(topics: ["watched"], listener: listener)
            #expect(try await eventually {
                _ = try await consumer.poll(timeout: .milliseconds(100))
                return events.withLock { $0 } == ["assigned watched-0,watched-1"]
            })

            // Another client removes the member from the group behind its back (LeaveGroup v3+ by member id).
            let admin = KafkaAdmin(cluster: broker.cluster)
            let member = try #require(try await admin.describeGroup("watchers").members.first)
            let coordinator = try await broker.cluster.coordinator(for: "watchers", type: .group)
            let removal = try await broker.cluster.send(
                LeaveGroupRequest(groupId: "watchers", members: [LeaveGroupRequest.MemberIdentity(memberId: member.memberId)]), toNode: coordinator)
            #expect(removal.errorCode == 0)
            #expect(removal.members.map(\.errorCode) == [0])

            // Its next heartbeat tells it: the partitions are lost, then it rejoins and gets them back.
            #expect(try await eventually {
                _ = try await consumer.poll(timeout: .milliseconds(100))
                return events.withLock { $0.count } >= 3
            })
            #expect(events.withLock { $0 } == ["assigned watched-0,watched-1", "lost watched-0,watched-1", "assigned watched-0,watched-1"])
            let rejoined = try await admin.describeGroup("watchers")
            #expect(rejoined.members.count == 1)
            #expect(rejoined.members.first?.memberId != member.memberId)
            await consumer.close()
        }
    }
}

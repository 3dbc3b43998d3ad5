import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// `KafkaAdmin` against the dev broker; every answer is checked through a second path
/// (metadata, a consumer, the produce API) rather than against the admin call itself.
@Suite struct AdminTests {
    @Test func topicsAreCreatedWithConfigsListedDescribedGrownAndDeleted() async throws {
        try await withBroker { broker in
            let admin = KafkaAdmin(cluster: broker.cluster)
            try await admin.createTopics([NewTopic(name: "orders", partitions: 2, replicationFactor: 1,
                                                   configs: ["cleanup.policy": "compact", "retention.ms": "3600000"])])
            #expect(try await admin.listTopics().contains("orders"))
            let described = try await admin.describeTopics(["orders"])
            #expect(described.map(\.name) == ["orders"])
            #expect(described[0].partitions.map(\.partition).sorted() == [0, 1])
            #expect(described[0].partitions.allSatisfy { $0.leader == 0 && $0.replicas == [0] })
            let configs = try await admin.describeTopicConfigs("orders")
            #expect(configs["cleanup.policy"] == "compact")
            #expect(configs["retention.ms"] == "3600000")
            #expect(configs["retention.bytes"] == "-1")
            // Configs not given take Kafka's defaults: 7 days of retention, deletion rather than compaction.
            try await admin.createTopics([NewTopic(name: "defaults", partitions: 1)])
            let defaults = try await admin.describeTopicConfigs("defaults")
            #expect(defaults["retention.ms"] == "604800000")
            #expect(defaults["cleanup.policy"] == "delete")

            // Refusals are typed errors at the call site, and the admin stays usable.
            await #expect(throws: KafkaClientError.self) { try await admin.createTopics([NewTopic(name: "orders", partitions: 2)]) }
            try await admin.createTopics([NewTopic(name: "orders", partitions: 2)], ifNotExists: true)
            await #expect(throws: KafkaClientError.self) {
                try await admin.createTopics([NewTopic(name: "bad-config", configs: ["retention.ms": "soon"])])
            }
            await #expect(throws: KafkaClientError.self) {
                try await admin.createTopics([NewTopic(name: "replicated", partitions: 1, replicationFactor: 3)])
            }
            #expect(try await !admin.listTopics().contains("replicated"))

            try await admin.createPartitions(topic: "orders", totalCount: 5)
            #expect(try await admin.describeTopics(["orders"])[0].partitions.count == 5)
            #expect(try await broker.produce("orders", partition: 4, values: ["into a new partition"], keys: ["k"]) == 0)
            await #expect(throws: KafkaClientError.self) { try await admin.createPartitions(topic: "orders", totalCount: 3) }

            try await admin.deleteTopics(["orders"])
            #expect(try await !admin.listTopics().contains("orders"))
            await #expect(throws: KafkaClientError.self) { try await admin.deleteTopics(["orders"]) }
        }
    }

    @Test func offsetsEarliestLatestAndByTimestampFollowDeleteRecords() async throws {
        try await withBroker { broker in
            let admin = KafkaAdmin(cluster: broker.cluster)
            try await broker.createTopic("clicks", partitions: 2)
            // Offsets 0-9 at timestamps 1000-1009, then 10-14 at 5000-5004 (the helper adds the index).
            try await broker.produce("clicks", partition: 0, values: (0..<10).map { "a\($0)" }, timestamp: 1_000)
            try await broker.produce("clicks", partition: 0, values: (0..<5).map { "b\($0)" }, timestamp: 5_000)
            let p0 = TopicPartition("clicks", 0), p1 = TopicPartition("clicks", 1)

            let ends = try await admin.listOffsets([p0: .earliest, p1: .latest])
            #expect(ends[p0]?.offset == 0)
            #expect(ends[p1]?.offset == 0)
            #expect(try await admin.listOffsets([p0: .latest])[p0]?.offset == 15)
            let exact = try #require(try await admin.listOffsets([p0: .timestamp(1_005)])[p0])
            #expect((exact.offset, exact.timestamp) == (5, 1_005))
            let between = try #require(try await admin.listOffsets([p0: .timestamp(3_000)])[p0])
            #expect((between.offset, between.timestamp) == (10, 5_000))
            #expect(try await admin.listOffsets([p0: .timestamp(9_999)])[p0]?.offset == -1)

            let lowWatermarks = try await admin.deleteRecords(before: [p0: 7])
            #expect(lowWatermarks[p0] == 7)
            #expect(try await admin.listOffsets([p0: .earliest])[p0]?.offset == 7)
            // Records below the new start are gone for consumers too.
            let consumer = KafkaConsumer(configuration: try testConfiguration(broker))
            try await consumer.assign([p0: .beginning])
            let records = try await pollRecords(consumer, count: 8)
            await consumer.close()
            #expect(records.map(\.offset) == Array(7..<15))
            #expect(records.first.flatMap { $0.value.map { String(buffer: $0) } } == "a7")
        }
    }

    @Test func groupsAreListedAndDescribedWithMembersAssignmentsCommittedOffsetsAndLag() async throws {
        try await withBroker { broker in
            let admin = KafkaAdmin(cluster: broker.cluster)
            try await broker.createTopic("views", partitions: 3)
            for partition in Int32(0)..<3 { try await broker.produce("views", partition: partition, values: (0..<4).map(String.init)) }
            var configuration = try testConfiguration(broker, group: "viewers")
            configuration.client.clientId = "viewer-1"
            configuration.groupInstanceId = "viewer-instance"
            configuration.enableAutoCommit = false
            let consumer = KafkaConsumer(configuration: configuration)
            try await consumer.subscribe(topics: ["views"])
            let records = try await pollRecords(consumer, count: 12)
            #expect(records.count == 12)
            try await consumer.commit()
            try await broker.produce("views", partition: 1, values: ["late-1", "late-2"])

            #expect(try await admin.listGroups().contains { $0.groupId == "viewers" && $0.protocolType == "consumer" && $0.state == "Stable" })
            let description = try await admin.describeGroup("viewers")
            #expect(description.state == "Stable")
            #expect(description.protocolType == "consumer")
            #expect(description.protocolName == "range")
            let member = try #require(description.members.first)
            #expect(description.members.count == 1)
            #expect(member.clientId == "viewer-1")
            #expect(member.groupInstanceId == "viewer-instance")
            #expect(try member.assignment.get() == [TopicPartition("views", 0), TopicPartition("views", 1), TopicPartition("views", 2)])
            #expect(member.rawAssignment.count > 0)

            let committed = try await admin.committedOffsets(group: "viewers")
            #expect(committed == [TopicPartition("views", 0): 4, TopicPartition("views", 1): 4, TopicPartition("views", 2): 4])
            // The consumer's own lag per partition counts the two late records once a fetch has seen them.
            #expect(try await eventually {
                _ = try await consumer.poll(timeout: .milliseconds(100))
                let lag = await consumer.lag(TopicPartition("views", 1))
                let position = try await consumer.position(TopicPartition("views", 1))
                return lag == 0 && position == 6
            })
            await consumer.close()
            #expect(try await admin.describeGroup("unknown-group").state == "Dead")
        }
    }

    @Test func lagPerPartitionCountsWhatIsLeftAfterThePosition() async throws {
        try await withBroker { broker in
            try await broker.createTopic("backlog", partitions: 2)
            try await broker.produce("backlog", partition: 0, values: (0..<10).map(String.init))
            try await broker.produce("backlog", partition: 1, values: (0..<4).map(String.init))
            var configuration = try testConfiguration(broker)
            configuration.maxPollRecords = 3
            let consumer = KafkaConsumer(configuration: configuration)
            let p0 = TopicPartition("backlog", 0), p1 = TopicPartition("backlog", 1)
            try await consumer.assign([p0: .beginning, p1: .offset(4)])
            var fromP0: [ConsumerRecord] = []
            #expect(try await eventually {
                fromP0 += try await consumer.poll(timeout: .milliseconds(100)).filter { $0.partition == 0 }
                let lag = await consumer.lag(p0)
                return !fromP0.isEmpty && lag != nil
            })
            #expect(fromP0.count < 10)
            #expect(await consumer.lag(p0) == 10 - Int64(fromP0.count))
            #expect(await consumer.lag(p1) == 0)
            await consumer.close()
        }
    }

    /// Assignment bytes that are not a consumer protocol assignment (another protocol type, or
    /// garbage under "consumer") are reported as a typed error with the bytes kept, not as an
    /// empty assignment. The members join and sync with raw requests; the coordinator passes
    /// the leader's assignment bytes through unchanged.
    @Test func undecodableAssignmentsAreReportedWithTheirBytes() async throws {
        try await withBroker { broker in
            let admin = KafkaAdmin(cluster: broker.cluster)
            func joinAndSync(group: String, protocolType: String, assignment: [UInt8]) async throws -> String {
                let coordinator = try await broker.cluster.coordinator(for: group, type: .group)
                func join(memberId: String) async throws -> JoinGroupResponse {
                    try await broker.cluster.send(JoinGroupRequest(
                        groupId: group, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 5_000, memberId: memberId, protocolType: protocolType,
                        protocols: [JoinGroupRequest.JoinGroupRequestProtocol(name: "custom", metadata: ByteBuffer(bytes: [0, 0]))]),
                        toNode: coordinator)
                }
                var joined = try await join(memberId: "")
                if KafkaErrorCode(joined.errorCode) == .memberIdRequired { joined = try await join(memberId: joined.memberId) }
                #expect(joined.errorCode == 0)
                let sync = try await broker.cluster.send(SyncGroupRequest(
                    groupId: group, generationId: joined.generationId, memberId: joined.memberId, protocolType: protocolType,
                    protocolName: "custom", assignments: [SyncGroupRequest.SyncGroupRequestAssignment(
                        memberId: joined.memberId, assignment: ByteBuffer(bytes: assignment))]), toNode: coordinator)
                #expect(sync.errorCode == 0)
                #expect(Array(sync.assignment.readableBytesView) == assignment, "the coordinator changed the assignment bytes")
                return joined.memberId
            }

            // Version 0, then a topic count of 5 with nothing after it.
            let garbage: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xAB]
            let garbled = try await joinAndSync(group: "garbled", protocolType: "consumer", assignment: garbage)
            let described = try #require(try await admin.describeGroup("garbled").members.first)
            #expect(described.memberId == garbled)
            #expect(described.rawAssignment == garbage)
            guard case .failure(.malformed) = described.assignment else {
                Issue.record("garbage under the consumer protocol described as \(described.assignment)")
                return
            }

            let connectBytes: [UInt8] = Array("worker-1 owns connector sink-a".utf8)
            let worker = try await joinAndSync(group: "connect-cluster", protocolType: "connect", assignment: connectBytes)
            let connect = try await admin.describeGroup("connect-cluster")
            #expect(connect.protocolType == "connect")
            let member = try #require(connect.members.first)
            #expect(member.memberId == worker)
            #expect(member.rawAssignment == connectBytes)
            #expect(member.assignment == .failure(.notConsumerProtocol(protocolType: "connect")))
        }
    }
}

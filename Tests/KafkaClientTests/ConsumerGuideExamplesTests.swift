import KafkaProtocol
import NIOCore
import Synchronization
import Testing
@testable import KafkaClient

/// The examples of docs/consumer.md, run against the embedded broker so the guide stays true.
@Suite(.serialized) struct ConsumerGuideExamplesTests {
    @Test func atLeastOnceProcessingWithManualCommits() async throws {
        try await withBroker { broker in
            try await broker.createTopic("invoices", partitions: 3)
            for partition in Int32(0)..<3 { try await broker.produce("invoices", partition: partition, values: ["a", "b"]) }
            let processed = Mutex<[String]>([])

            // --- guide: at-least-once ---
            var configuration = try ConsumerConfiguration(bootstrap: broker.bootstrap, groupId: "billing")
            configuration.enableAutoCommit = false
            configuration.autoOffsetReset = .earliest
            let consumer = KafkaConsumer(configuration: configuration)
            try await consumer.subscribe(topics: ["invoices"], listener: RebalanceListener(
                onRevoked: { _ in
                    // Everything polled so far has been processed: commit before the partitions move.
                    try? await consumer.commit()
                }))
            var seen = 0
            while seen < 6 {
                let records = try await consumer.poll(timeout: .seconds(1))
                for record in records {
                    processed.withLock { $0.append(String(buffer: record.value!)) }   // the application's work
                }
                seen += records.count
                if !records.isEmpty { try await consumer.commit() }
            }
            await consumer.close()
            // --- end ---

            #expect(processed.withLock { $0.sorted() } == ["a", "a", "a", "b", "b", "b"])
            let check = KafkaConsumer(configuration: configuration)
            let committed = try await check.committed(Set((0..<3).map { TopicPartition("invoices", $0) }))
            #expect(committed.values.map(\.offset) == [2, 2, 2])
            await check.close()
        }
    }

    @Test func manualAssignmentSeekAndLag() async throws {
        try await withBroker { broker in
            try await broker.createTopic("audit", partitions: 1)
            try await broker.produce("audit", partition: 0, values: (0..<10).map(String.init))

            // --- guide: assign ---
            let consumer = KafkaConsumer(configuration: try ConsumerConfiguration(bootstrap: broker.bootstrap))
            let partition = TopicPartition("audit", 0)
            try await consumer.assign([partition: .offset(5)])
            let records = try await consumer.poll(timeout: .seconds(5))
            let lag = await consumer.lag(partition)         // records left after the position
            try await consumer.seek(partition, to: 0)       // read it all again
            await consumer.close()
            // --- end ---

            #expect(records.map(\.offset) == [5, 6, 7, 8, 9])
            #expect(lag == 0)
        }
    }

    @Test func customAssignorSeesEverySubscription() async throws {
        // --- guide: custom assignor ---
        /// Gives every partition to the member with the smallest id; the others stand by.
        struct StandbyAssignor: PartitionAssignor {
            let name = "standby"
            func assign(members: [GroupMemberSubscription], metadata: ClusterMetadata) throws -> [String: PartitionAssignment] {
                let active = members.map(\.memberId).min()!
                let topics = Set(members.flatMap(\.topics))
                return Dictionary(uniqueKeysWithValues: members.map { member in
                    (member.memberId, PartitionAssignment(partitions: member.memberId == active ? metadata.partitions(of: topics) : []))
                })
            }
        }
        // --- end ---
        try await withBroker { broker in
            try await broker.createTopic("jobs", partitions: 2)
            var configuration = try testConfiguration(broker, group: "standby-group")
            configuration.assignors = [StandbyAssignor()]
            let first = KafkaConsumer(configuration: configuration)
            let second = KafkaConsumer(configuration: configuration)
            try await first.subscribe(topics: ["jobs"])
            try await second.subscribe(topics: ["jobs"])
            #expect(await eventually {
                let a = await first.assignment(), b = await second.assignment()
                return a.count + b.count == 2 && (a.isEmpty || b.isEmpty)
            })
            await first.close()
            await second.close()
        }
    }
}

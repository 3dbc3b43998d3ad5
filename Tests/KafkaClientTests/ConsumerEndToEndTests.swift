import KafkaProtocol
import NIOCore
import Synchronization
import Testing
@testable import KafkaClient

/// The consumer against the in-process dev broker.
@Suite(.serialized) struct ConsumerEndToEndTests {
    @Test func assignReadsEveryRecordWithKeysHeadersAndTimestamps() async throws {
        try await withBroker { broker in
            try await broker.createTopic("events", partitions: 2)
            let header = RecordHeader(key: "trace", value: ByteBuffer(string: "abc"))
            for codec in CompressionCodec.allCases {
                try await broker.produce("events", partition: 0, values: (0..<10).map { "\(codec)-\($0)" }, keys: (0..<10).map { "k\($0)" },
                                         headers: [header], compression: codec, timestamp: 1_600_000_000_000)
            }
            try await broker.produce("events", partition: 1, values: ["only"], keys: [nil])
            let consumer = KafkaConsumer(configuration: try testConfiguration(broker))
            try await consumer.assign([TopicPartition("events", 0): .beginning, TopicPartition("events", 1): .beginning])
            let records = try await pollRecords(consumer, count: 51)
            await consumer.close()

            let first = records.filter { $0.partition == 0 }
            #expect(first.count == 50)
            #expect(first.map(\.offset) == Array(0..<50))
            for (index, record) in first.enumerated() {
                let codec = CompressionCodec.allCases[index / 10]
                #expect(String(buffer: record.value!) == "\(codec)-\(index % 10)")
                #expect(String(buffer: record.key!) == "k\(index % 10)")
                #expect(record.headers == [header])
                #expect(record.timestamp == 1_600_000_000_000 + Int64(index % 10))
                #expect(record.timestampType == .createTime)
            }
            let second = try #require(records.first { $0.partition == 1 })
            #expect(second.key == nil)
            #expect(String(buffer: second.value!) == "only")
        }
    }

    @Test func explicitOffsetsSeekAndEndPositionsWork() async throws {
        try await withBroker { broker in
            try await broker.createTopic("log", partitions: 1)
            try await broker.produce("log", partition: 0, values: (0..<20).map(String.init))
            let partition = TopicPartition("log", 0)
            let consumer = KafkaConsumer(configuration: try testConfiguration(broker))
            try await consumer.assign([partition: .offset(15)])
            let tail = try await pollRecords(consumer, count: 5)
            #expect(tail.map(\.offset) == [15, 16, 17, 18, 19])
            #expect(try await consumer.position(partition) == 20)
            #expect(await consumer.lag(partition) == 0)

            try await consumer.seek(partition, to: 3)
            let again = try await pollRecords(consumer, count: 1)
            #expect(again.first?.offset == 3)

            try await consumer.seekToEnd([partition])
            #expect(try await consumer.position(partition) == 20)
            try await consumer.seekToBeginning([partition])
            #expect(try await consumer.position(partition) == 0)
            await consumer.close()
        }
    }

    @Test func resetNoneReportsPartitionsWithoutOffsets() async throws {
        try await withBroker { broker in
            try await broker.createTopic("strict", partitions: 1)
            try await broker.produce("strict", partition: 0, values: ["a"])
            var configuration = try testConfiguration(broker, group: "strict-group")
            configuration.autoOffsetReset = .none
            let consumer = KafkaConsumer(configuration: configuration)
            let partition = TopicPartition("strict", 0)
            try await consumer.assign([partition])
            await #expect(throws: KafkaConsumerError.noOffset(partition)) {
                _ = try await pollRecords(consumer, count: 1, timeout: .seconds(5))
            }
            // After a seek the partition is read normally.
            try await consumer.seek(partition, to: 0)
            #expect(try await pollRecords(consumer, count: 1).map(\.offset) == [0])

            // An offset past the end is out of range.
            try await consumer.seek(partition, to: 99)
            await #expect(throws: KafkaConsumerError.offsetOutOfRange(partition, offset: 99)) {
                _ = try await pollRecords(consumer, count: 1, timeout: .seconds(5))
            }
            await consumer.close()
        }
    }

    @Test func outOfRangeResetsToTheConfiguredEnd() async throws {
        try await withBroker { broker in
            try await broker.createTopic("reset", partitions: 1)
            try await broker.produce("reset", partition: 0, values: ["a", "b", "c"])
            let consumer = KafkaConsumer(configuration: try testConfiguration(broker))
            let partition = TopicPartition("reset", 0)
            try await consumer.assign([partition: .offset(1_000)])
            let records = try await pollRecords(consumer, count: 3)
            #expect(records.map(\.offset) == [0, 1, 2], "earliest after out of range")
            await consumer.close()
        }
    }

    @Test func commitsAreStoredAndResumedFrom() async throws {
        try await withBroker { broker in
            try await broker.createTopic("orders", partitions: 1)
            try await broker.produce("orders", partition: 0, values: (0..<10).map(String.init))
            let partition = TopicPartition("orders", 0)
            var configuration = try testConfiguration(broker, group: "billing")
            configuration.enableAutoCommit = false
            configuration.maxPollRecords = 4

            let first = KafkaConsumer(configuration: configuration)
            try await first.assign([partition])
            let read = try await first.poll(timeout: .seconds(10))
            #expect(read.map(\.offset) == [0, 1, 2, 3])
            try await first.commit([partition: OffsetAndMetadata(offset: 4, metadata: "checkpoint")])
            let committed = try await first.committed([partition])
            #expect(committed[partition] == OffsetAndMetadata(offset: 4, metadata: "checkpoint", leaderEpoch: committed[partition]?.leaderEpoch))
            await first.close()

            let second = KafkaConsumer(configuration: configuration)
            try await second.assign([partition])
            #expect(try await second.poll(timeout: .seconds(10)).first?.offset == 4)
            // commitAsync reports through its completion.
            let outcome = Mutex<Result<Void, any Error>?>(nil)
            await second.commitAsync { result in outcome.withLock { $0 = result } }
            #expect(await eventually { outcome.withLock { $0 } != nil })
            #expect(try await second.committed([partition])[partition]?.offset == 8)
            await second.close()
        }
    }

    @Test func pauseStopsDeliveryUntilResume() async throws {
        try await withBroker { broker in
            try await broker.createTopic("p", partitions: 2)
            try await broker.produce("p", partition: 0, values: ["a0", "a1"])
            try await broker.produce("p", partition: 1, values: ["b0"])
            let consumer = KafkaConsumer(configuration: try testConfiguration(broker))
            let zero = TopicPartition("p", 0), one = TopicPartition("p", 1)
            try await consumer.assign([zero: .beginning, one: .beginning])
            await consumer.pause([zero])
            let records = try await pollRecords(consumer, count: 3, timeout: .seconds(2))
            #expect(records.map(\.partition) == [1])
            #expect(await consumer.paused() == [zero])
            await consumer.resume([zero])
            let rest = try await pollRecords(consumer, count: 2)
            #expect(rest.map(\.offset) == [0, 1])
            #expect(rest.allSatisfy { $0.partition == 0 })
            await consumer.close()
        }
    }

    @Test func wakeupEndsThePollInProgressOrTheNextOne() async throws {
        try await withBroker { broker in
            try await broker.createTopic("quiet", partitions: 1)
            let consumer = KafkaConsumer(configuration: try testConfiguration(broker))
            try await consumer.assign([TopicPartition("quiet", 0): .beginning])
            // Without data a poll sleeps out its whole timeout (an hour here); the watchdog
            // fails the test if the wakeup does not end it.
            let polled = try await withThrowingTaskGroup(of: [ConsumerRecord]?.self) { group in
                group.addTask { try await consumer.poll(timeout: .seconds(3600)) }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(200))
                    await consumer.wakeup()
                    try await Task.sleep(for: .seconds(60))
                    return nil
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            #expect(polled?.isEmpty == true)

            // A wakeup with no poll in progress ends the next poll at once, and only that one.
            await consumer.wakeup()
            let early = try await withThrowingTaskGroup(of: [ConsumerRecord]?.self) { group in
                group.addTask { try await consumer.poll(timeout: .seconds(3600)) }
                group.addTask { try await Task.sleep(for: .seconds(60)); return nil }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            #expect(early?.isEmpty == true)
            try await broker.produce("quiet", partition: 0, values: ["late"])
            let records = try await pollRecords(consumer, count: 1)
            #expect(records.map { String(buffer: $0.value!) } == ["late"])
            await consumer.close()
        }
    }

    @Test func fetchingAheadStopsAtMinBufferedRecordsAndResumesAfterAPoll() async throws {
        try await withBroker { broker in
            try await broker.createTopic("ahead", partitions: 1)
            for batch in 0..<10 {
                try await broker.produce("ahead", partition: 0, values: (0..<100).map { "\(batch)-\($0)" })
            }
            var configuration = try testConfiguration(broker)
            // One batch (100 records) per response: the bound is what stops fetching, after the
            // response that reaches it, not a count of responses.
            configuration.maxPartitionFetchBytes = 1
            configuration.minBufferedRecords = 450
            configuration.maxPollRecords = 100
            let consumer = KafkaConsumer(configuration: configuration)
            let partition = TopicPartition("ahead", 0)
            try await consumer.assign([partition: .beginning])
            #expect(await eventually { await consumer.bufferedRecordCount(of: partition) == 500 })
            // Nothing more is fetched while 500 wait (the partition has 1,000).
            try await Task.sleep(for: .milliseconds(300))
            #expect(await consumer.bufferedRecordCount(of: partition) == 500)

            let first = try await consumer.poll(timeout: .seconds(5))
            #expect(first.map(\.offset) == Array(0..<100))
            // 400 left, below the bound: one more response comes.
            #expect(await eventually { await consumer.bufferedRecordCount(of: partition) == 500 })
            let rest = try await pollRecords(consumer, count: 900)
            #expect(rest.map(\.offset) == Array(100..<1000))
            #expect(await consumer.bufferedRecordCount(of: partition) == 0)
            await consumer.close()
        }
    }

    @Test func readCommittedDropsAbortedTransactions() async throws {
        try await withBroker { broker in
            try await broker.createTopic("txn", partitions: 1)
            try await broker.produce("txn", partition: 0, values: ["plain"])
            try await broker.produceTransaction("txn", partition: 0, values: ["kept-1", "kept-2"], commit: true, transactionalId: "tx")
            try await broker.produceTransaction("txn", partition: 0, values: ["dropped-1", "dropped-2"], commit: false, transactionalId: "tx")
            try await broker.produce("txn", partition: 0, values: ["after"])
            let partition = TopicPartition("txn", 0)

            var configuration = try testConfiguration(broker)
            configuration.isolationLevel = .readCommitted
            let committed = KafkaConsumer(configuration: configuration)
            try await committed.assign([partition])
            let visible = try await pollRecords(committed, count: 4, timeout: .seconds(5))
            #expect(visible.map { String(buffer: $0.value!) } == ["plain", "kept-1", "kept-2", "after"])
            #expect(try await committed.position(partition) == 8, "past the last record, markers included")
            #expect(await committed.lag(partition) == 0)
            await committed.close()

            configuration.isolationLevel = .readUncommitted
            let everything = KafkaConsumer(configuration: configuration)
            try await everything.assign([partition])
            let all = try await pollRecords(everything, count: 6)
            #expect(all.map { String(buffer: $0.value!) } == ["plain", "kept-1", "kept-2", "dropped-1", "dropped-2", "after"])
            await everything.close()
        }
    }

    @Test func groupMembersSplitPartitionsAndHandOverCleanly() async throws {
        try await withBroker { broker in
            try await broker.createTopic("work", partitions: 4)
            for partition in Int32(0)..<4 {
                try await broker.produce("work", partition: partition, values: (0..<25).map { "\(partition)-\($0)" })
            }
            var configuration = try testConfiguration(broker, group: "workers")
            configuration.assignors = [RangeAssignor()]
            configuration.maxPollRecords = 5
            let ownership = OwnershipLog()

            let a = KafkaConsumer(configuration: configuration)
            try await a.subscribe(topics: ["work"], listener: ownership.listener("a"))
            #expect(await eventually { ownership.owned("a").count == 4 })
            var readByA = try await pollRecords(a, count: 10)
            try await a.commit()

            let b = KafkaConsumer(configuration: configuration)
            try await b.subscribe(topics: ["work"], listener: ownership.listener("b"))
            var readByB: [ConsumerRecord] = []
            // Both keep polling while the group rebalances.
            #expect(await eventually {
                readByA += (try? await a.poll(timeout: .milliseconds(1))) ?? []
                readByB += (try? await b.poll(timeout: .milliseconds(1))) ?? []
                return ownership.owned("a").count == 2 && ownership.owned("b").count == 2
            })
            #expect(ownership.doubleOwnership == nil)
            readByA += try await pollRecords(a, count: 5, timeout: .milliseconds(500))
            // Auto commit on close: everything a was given counts as consumed.
            await a.close()
            #expect(await eventually { ownership.owned("b").count == 4 })
            readByB += try await pollRecords(b, count: 100 - readByA.count - readByB.count)
            await b.close()

            // The group read every record exactly once: b never re-read what a had committed.
            let keysA = readByA.map { "\($0.partition)-\($0.offset)" }
            let keysB = readByB.map { "\($0.partition)-\($0.offset)" }
            #expect(Set(keysA).isDisjoint(with: keysB), "a committed record was read twice")
            #expect(keysA.count + keysB.count == 100)
            #expect(Set(keysA + keysB).count == 100)
            #expect(ownership.doubleOwnership == nil)
        }
    }

    @Test func cooperativeStickyMovesOnlyWhatItMust() async throws {
        try await withBroker { broker in
            try await broker.createTopic("coop", partitions: 6)
            var configuration = try testConfiguration(broker, group: "coop-group")
            configuration.assignors = [CooperativeStickyAssignor()]
            let ownership = OwnershipLog()
            let a = KafkaConsumer(configuration: configuration)
            try await a.subscribe(topics: ["coop"], listener: ownership.listener("a"))
            #expect(await eventually { ownership.owned("a").count == 6 })
            let b = KafkaConsumer(configuration: configuration)
            try await b.subscribe(topics: ["coop"], listener: ownership.listener("b"))
            #expect(await eventually { ownership.owned("a").count == 3 && ownership.owned("b").count == 3 })
            // a never revoked everything: it only gave up three partitions.
            #expect(ownership.revokedCounts("a") == [3])
            #expect(ownership.doubleOwnership == nil)
            let metadata = try #require(await b.groupMetadata())
            #expect(metadata.groupId == "coop-group" && metadata.generationId >= 2 && !metadata.memberId.isEmpty)
            await b.close()
            #expect(await eventually { ownership.owned("a").count == 6 })
            #expect(ownership.doubleOwnership == nil)
            await a.close()
        }
    }

    @Test func patternSubscriptionFindsMatchingTopics() async throws {
        try await withBroker { broker in
            try await broker.createTopic("metrics.cpu", partitions: 1)
            try await broker.createTopic("metrics.disk", partitions: 1)
            try await broker.createTopic("logs", partitions: 1)
            try await broker.produce("metrics.cpu", partition: 0, values: ["cpu"])
            try await broker.produce("metrics.disk", partition: 0, values: ["disk"])
            try await broker.produce("logs", partition: 0, values: ["log"])
            let consumer = KafkaConsumer(configuration: try testConfiguration(broker, group: "pattern"))
            try await consumer.subscribe(pattern: "metrics\\..*")
            let records = try await pollRecords(consumer, count: 2)
            #expect(Set(records.map { String(buffer: $0.value!) }) == ["cpu", "disk"])
            #expect(await consumer.subscribedTopics() == ["metrics.cpu", "metrics.disk"])
            await consumer.close()
        }
    }
}

/// Who owns what, as reported by rebalance listeners, with a check that no partition ever
/// has two owners at once.
final class OwnershipLog: Sendable {
    private struct State {
        var owned: [String: Set<TopicPartition>] = [:]
        var revoked: [String: [Int]] = [:]
        var doubleOwnership: String?
    }
    private let state = Mutex(State())

    func listener(_ member: String) -> RebalanceListener {
        RebalanceListener(
            onAssigned: { partitions in
                self.state.withLock { state in
                    for partition in partitions {
                        if let other = state.owned.first(where: { $0.key != member && $0.value.contains(partition) }) {
                            state.doubleOwnership = "\(partition) assigned to \(member) while \(other.key) owns it"
                        }
                    }
                    state.owned[member, default: []].formUnion(partitions)
                }
            },
            onRevoked: { partitions in
                self.state.withLock { state in
                    state.owned[member, default: []].subtract(partitions)
                    state.revoked[member, default: []].append(partitions.count)
                }
            })
    }

    func owned(_ member: String) -> Set<TopicPartition> { state.withLock { $0.owned[member] ?? [] } }
    func revokedCounts(_ member: String) -> [Int] { state.withLock { $0.revoked[member] ?? [] } }
    var doubleOwnership: String? { state.withLock { $0.doubleOwnership } }
}

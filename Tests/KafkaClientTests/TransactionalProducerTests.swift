import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// The transactional producer against the dev broker in this process: the state machine,
/// commit and abort as read_committed consumers see them, offsets in transactions, fencing.
@Suite(.serialized) struct TransactionalProducerTests {
    func transactional(_ broker: ConsumerTestBroker, id: String, _ configure: (inout ProducerConfiguration) -> Void = { _ in }) async throws -> KafkaProducer {
        try await KafkaProducer.make(configuration: .testing(broker.bootstrap) {
            $0.transactionalId = id
            $0.transactionTimeout = .seconds(30)
            $0.deliveryReports = .none
            configure(&$0)
        })
    }

    /// Expects `body` to throw `invalidTransactionState` naming `state`.
    func expectRefused(in state: TransactionState, _ body: () async throws(KafkaProducerError) -> Void,
                       sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await body()
            Issue.record("expected invalidTransactionState(\(state))", sourceLocation: sourceLocation)
        } catch {
            guard case .invalidTransactionState(_, let actual) = error else {
                Issue.record("expected invalidTransactionState, got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(actual == state, sourceLocation: sourceLocation)
        }
    }

    /// Expects `body` to throw an error after which the transaction can only be aborted;
    /// `accepted` says what went wrong if it does not throw.
    func expectAbortRequired(_ accepted: String, _ body: () async throws(KafkaProducerError) -> Void,
                             sourceLocation: SourceLocation = #_sourceLocation) async {
        do throws(KafkaProducerError) {
            try await body()
            Issue.record(Comment(rawValue: accepted), sourceLocation: sourceLocation)
        } catch {
            #expect(error.requiresAbort, sourceLocation: sourceLocation)
        }
    }

    /// What a read_committed consumer reads from the start of `partitions`: `count` records,
    /// and whatever one more poll of `settle` brings, so that a record too many shows.
    func readCommitted(_ broker: ConsumerTestBroker, _ partitions: [TopicPartition], count: Int,
                       timeout: Duration = .seconds(20), settle: Duration = .milliseconds(300),
                       _ configure: (inout ConsumerConfiguration) -> Void = { _ in }) async throws -> [ConsumerRecord] {
        var configuration = try testConfiguration(broker)
        configuration.isolationLevel = .readCommitted
        configure(&configuration)
        let consumer = KafkaConsumer(configuration: configuration)
        try await consumer.assign(partitions)
        let records = try await pollRecords(consumer, count: count, timeout: timeout)
        let extra = try await consumer.poll(timeout: settle)
        await consumer.close()
        return records + extra
    }

    @Test func callsOutOfOrderAreRefusedWithTheState() async throws {
        try await withBroker { broker in
            try await broker.createTopic("order", partitions: 1)
            let plain = try await KafkaProducer.make(configuration: .testing(broker.bootstrap))
            #expect(plain.transactionState == nil)
            await expectRefused(in: .uninitialized) { () throws(KafkaProducerError) in try plain.beginTransaction() }
            await expectRefused(in: .uninitialized) { () throws(KafkaProducerError) in try await plain.initTransactions() }
            await plain.close()

            let producer = try await transactional(broker, id: "order-txn")
            let group = ConsumerGroupMetadata(groupId: "g")
            let offsets = [TopicPartition("order", 0): OffsetAndMetadata(offset: 1)]
            #expect(producer.transactionState == .uninitialized)
            await expectRefused(in: .uninitialized) { () throws(KafkaProducerError) in try producer.beginTransaction() }
            await expectRefused(in: .uninitialized) { () throws(KafkaProducerError) in
                _ = try await producer.send(ProducerRecord(topic: "order", value: "x"))
            }
            await expectRefused(in: .uninitialized) { () throws(KafkaProducerError) in try await producer.commitTransaction() }

            try await producer.initTransactions()
            #expect(producer.transactionState == .ready)
            await expectRefused(in: .ready) { () throws(KafkaProducerError) in try await producer.initTransactions() }
            await expectRefused(in: .ready) { () throws(KafkaProducerError) in try await producer.sendAndForget(ProducerRecord(topic: "order", value: "x")) }
            await expectRefused(in: .ready) { () throws(KafkaProducerError) in try await producer.commitTransaction() }
            await expectRefused(in: .ready) { () throws(KafkaProducerError) in try await producer.abortTransaction() }
            await expectRefused(in: .ready) { () throws(KafkaProducerError) in try await producer.sendOffsetsToTransaction(offsets, groupMetadata: group) }

            try producer.beginTransaction()
            #expect(producer.transactionState == .inTransaction)
            await expectRefused(in: .inTransaction) { () throws(KafkaProducerError) in try producer.beginTransaction() }
            _ = try await producer.send(ProducerRecord(topic: "order", value: "in"))
            try await producer.commitTransaction()
            #expect(producer.transactionState == .ready)
            await expectRefused(in: .ready) { () throws(KafkaProducerError) in try await producer.commitTransaction() }
            await producer.close()
        }
    }

    @Test func readCommittedSeesCommittedTransactionsOnlyAndAbortDropsUnsentRecords() async throws {
        try await withBroker { broker in
            try await broker.createTopic("txn", partitions: 2)
            // A long linger: records wait for a flush, commit or abort.
            let producer = try await transactional(broker, id: "commit-abort") { $0.linger = .seconds(10) }
            try await producer.initTransactions()

            try producer.beginTransaction()
            for i in 0..<20 { try await producer.sendAndForget(ProducerRecord(topic: "txn", partition: Int32(i % 2), value: "first-\(i)")) }
            try await producer.commitTransaction()

            try producer.beginTransaction()
            for i in 0..<20 { try await producer.sendAndForget(ProducerRecord(topic: "txn", partition: Int32(i % 2), value: "aborted-\(i)")) }
            try await producer.flush()   // written, then aborted: markers hide them
            let unsent = Task { try await producer.send(ProducerRecord(topic: "txn", partition: 0, value: "never-sent")) }
            #expect(await eventually { producer.bufferedBytes > 0 })
            try await producer.abortTransaction()
            // Still lingering when the abort began: dropped, never sent.
            let outcome = await unsent.result
            #expect(throws: KafkaProducerError.transactionAborted) { try outcome.get() }

            try producer.beginTransaction()
            for i in 0..<6 { try await producer.sendAndForget(ProducerRecord(topic: "txn", partition: Int32(i % 2), value: "second-\(i)")) }
            try await producer.commitTransaction()
            await producer.close()

            var configuration = try testConfiguration(broker)
            configuration.isolationLevel = .readCommitted
            let consumer = KafkaConsumer(configuration: configuration)
            try await consumer.assign([TopicPartition("txn", 0), TopicPartition("txn", 1)])
            let records = try await pollRecords(consumer, count: 26)
            try await Task.sleep(for: .milliseconds(300))
            let extra = try await consumer.poll(timeout: .milliseconds(300))
            await consumer.close()
            let values = (records + extra).map { String(buffer: $0.value!) }
            #expect(values.count == 26)
            #expect(values.allSatisfy { !$0.hasPrefix("aborted") && $0 != "never-sent" })
            for partition in Int32(0)...1 {
                let expected = (0..<20).filter { $0 % 2 == Int(partition) }.map { "first-\($0)" } + (0..<6).filter { $0 % 2 == Int(partition) }.map { "second-\($0)" }
                #expect((records + extra).filter { $0.partition == partition }.map { String(buffer: $0.value!) } == expected)
            }
        }
    }

    @Test func closeAbortsAnOpenTransactionSoReadCommittedConsumersMoveOnWithoutTheTimeout() async throws {
        try await withBroker { broker in
            try await broker.createTopic("close-open", partitions: 1)
            // A long linger keeps the last record unsent; a long timeout would hold read_committed
            // consumers back for a minute if close() left the transaction open.
            let producer = try await transactional(broker, id: "close-open-txn") {
                $0.linger = .seconds(10)
                $0.transactionTimeout = .seconds(60)
            }
            try await producer.initTransactions()
            try producer.beginTransaction()
            for i in 0..<5 { try await producer.sendAndForget(ProducerRecord(topic: "close-open", partition: 0, value: "open-\(i)")) }
            try await producer.flush()   // written in the open transaction
            let unsent = Task { try await producer.send(ProducerRecord(topic: "close-open", partition: 0, value: "never-sent")) }
            #expect(await eventually { producer.bufferedBytes > 0 })
            await producer.close()
            let outcome = await unsent.result
            #expect(throws: KafkaProducerError.transactionAborted) { try outcome.get() }
            #expect(producer.transactionState == .ready)

            let later = try await transactional(broker, id: "close-later-txn")
            try await later.initTransactions()
            try later.beginTransaction()
            _ = try await later.send(ProducerRecord(topic: "close-open", partition: 0, value: "committed"))
            try await later.commitTransaction()
            await later.close()

            // read_committed reaches the record after the closed producer's transaction at once:
            // well within the 60 s transaction timeout the coordinator would otherwise wait for.
            let committed = try await readCommitted(broker, [TopicPartition("close-open", 0)], count: 1, timeout: .seconds(15))
            #expect(committed.map { String(buffer: $0.value!) } == ["committed"])

            // The aborted records were written: read_uncommitted sees them.
            let uncommittedReader = KafkaConsumer(configuration: try testConfiguration(broker))
            try await uncommittedReader.assign([TopicPartition("close-open", 0)])
            let all = try await pollRecords(uncommittedReader, count: 6)
            let allExtra = try await uncommittedReader.poll(timeout: .milliseconds(300))
            await uncommittedReader.close()
            #expect((all + allExtra).map { String(buffer: $0.value!) } == (0..<5).map { "open-\($0)" } + ["committed"])
        }
    }

    @Test func closeWithTheCoordinatorOutOfReachGivesUpTheAbortAtTheCloseTimeout() async throws {
        let broker = try await TestBroker.start()
        defer { Task { [broker] in await broker.shutdown() } }
        try await broker.createTopic("close-unreachable", partitions: 1)
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap) {
            $0.transactionalId = "close-unreachable-txn"
            $0.maxBlock = .seconds(60)
            $0.deliveryReports = .none
            $0.client.reconnectBackoffMax = .milliseconds(200)
        })
        try await producer.initTransactions()
        try producer.beginTransaction()
        _ = try await producer.send(ProducerRecord(topic: "close-unreachable", value: "written"))
        await broker.broker.shutdown()

        // EndTxn would retry for maxBlock (60 s); the close's 2 s bound it instead.
        let start = ContinuousClock.now
        await producer.close(timeout: .seconds(2))
        #expect(ContinuousClock.now - start < .seconds(20))
        #expect(producer.transactionState == .aborting)
    }

    @Test func closeOfAFencedProducerJustCloses() async throws {
        try await withBroker { broker in
            try await broker.createTopic("close-fenced", partitions: 1)
            let first = try await transactional(broker, id: "close-fenced-txn")
            try await first.initTransactions()
            try first.beginTransaction()
            _ = try await first.send(ProducerRecord(topic: "close-fenced", value: "fenced"))
            let second = try await transactional(broker, id: "close-fenced-txn")
            try await second.initTransactions()   // aborts the first one's transaction and fences it
            do throws(KafkaProducerError) {
                try await first.commitTransaction()
                Issue.record("a fenced producer committed")
            } catch {
                #expect(error.isFatal)
            }
            #expect(first.transactionState == .fatalError)

            // The fenced producer closes while the new owner's transaction is open, and leaves it alone.
            try second.beginTransaction()
            _ = try await second.send(ProducerRecord(topic: "close-fenced", value: "owner"))
            await first.close()
            #expect(first.transactionState == .fatalError)
            try await second.commitTransaction()
            await second.close()
            let records = try await readCommitted(broker, [TopicPartition("close-fenced", 0)], count: 1)
            #expect(records.map { String(buffer: $0.value!) } == ["owner"])
        }
    }

    @Test func offsetsSentToATransactionAreCommittedOnlyWithIt() async throws {
        try await withBroker { broker in
            try await broker.createTopic("offsets-in", partitions: 1)
            try await broker.createTopic("offsets-out", partitions: 1)
            try await broker.produce("offsets-in", partition: 0, values: (0..<10).map { "v\($0)" })
            var configuration = try testConfiguration(broker, group: "txn-group")
            configuration.enableAutoCommit = false
            configuration.isolationLevel = .readCommitted
            let consumer = KafkaConsumer(configuration: configuration)
            try await consumer.subscribe(topics: ["offsets-in"])
            let records = try await pollRecords(consumer, count: 10)
            #expect(records.count == 10)
            let group = try #require(await consumer.groupMetadata())
            #expect(group.generationId >= 0 && !group.memberId.isEmpty)

            let producer = try await transactional(broker, id: "offsets-txn")
            try await producer.initTransactions()
            let partition = TopicPartition("offsets-in", 0)
            try producer.beginTransaction()
            try await producer.sendOffsetsToTransaction([partition: OffsetAndMetadata(offset: 4)], groupMetadata: group)
            try await producer.abortTransaction()
            let admin = KafkaAdmin(cluster: broker.cluster)
            #expect(try await admin.committedOffsets(group: "txn-group")[partition] == nil)

            try producer.beginTransaction()
            _ = try await producer.send(ProducerRecord(topic: "offsets-out", value: "out"))
            try await producer.sendOffsetsToTransaction([partition: OffsetAndMetadata(offset: 7)], groupMetadata: group)
            try await producer.commitTransaction()
            #expect(try await admin.committedOffsets(group: "txn-group")[partition] == 7)

            // A member of an older generation is a zombie: its offsets are refused, and the
            // transaction can only be aborted.
            var stale = group
            stale.generationId -= 1
            try producer.beginTransaction()
            await expectAbortRequired("a stale generation was accepted") { () throws(KafkaProducerError) in
                try await producer.sendOffsetsToTransaction([partition: OffsetAndMetadata(offset: 9)], groupMetadata: stale)
            }
            #expect(producer.transactionState == .abortableError)
            await expectAbortRequired("committed after an abortable error") { () throws(KafkaProducerError) in
                try await producer.commitTransaction()
            }
            try await producer.abortTransaction()
            #expect(producer.transactionState == .ready)
            #expect(try await admin.committedOffsets(group: "txn-group")[partition] == 7)
            await producer.close()
            await consumer.close()
        }
    }

    @Test func aRecordRefusedInATransactionMakesItAbortableAndTheNextOneCommits() async throws {
        try await withBroker { broker in
            try await KafkaAdmin(cluster: broker.cluster).createTopics([NewTopic(name: "small", partitions: 1, replicationFactor: 1,
                                                                                 configs: ["max.message.bytes": "2000"])])
            let producer = try await transactional(broker, id: "refused-txn")
            try await producer.initTransactions()
            try producer.beginTransaction()
            try await producer.sendAndForget(ProducerRecord(topic: "small", value: "fits"))
            let refused = Task { try await producer.send(ProducerRecord(topic: "small", value: String(repeating: "x", count: 5000))) }
            let outcome = await refused.result
            #expect(throws: KafkaProducerError.messageTooLarge(topic: "small", partition: 0)) { try outcome.get() }
            #expect(producer.transactionState == .abortableError)
            // Every call but abort reports why the transaction must abort.
            await expectAbortRequired("a send after an abortable error was accepted") { () throws(KafkaProducerError) in
                try await producer.sendAndForget(ProducerRecord(topic: "small", value: "more"))
            }
            await expectAbortRequired("committed after an abortable error") { () throws(KafkaProducerError) in
                try await producer.commitTransaction()
            }
            try await producer.abortTransaction()
            #expect(producer.transactionState == .ready)

            try producer.beginTransaction()
            _ = try await producer.send(ProducerRecord(topic: "small", value: "second try"))
            try await producer.commitTransaction()
            await producer.close()

            let records = try await readCommitted(broker, [TopicPartition("small", 0)], count: 1)
            #expect(records.map { String(buffer: $0.value!) } == ["second try"])
        }
    }

    @Test func aRecordLostWithTheBrokerIsAbortedAndTheEpochBumpedSoSequencesRestart() async throws {
        var broker = try await TestBroker.start()
        defer { Task { [broker] in await broker.shutdown() } }
        try await broker.createTopic("outage", partitions: 1)
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap) {
            $0.transactionalId = "outage-txn"
            $0.deliveryTimeout = .seconds(2)
            $0.requestTimeout = .seconds(1)
            $0.maxBlock = .seconds(30)
            $0.deliveryReports = .none
            $0.client.reconnectBackoffMax = .milliseconds(200)
        })
        try await producer.initTransactions()
        let before = try #require(producer.producerIdentity)
        try producer.beginTransaction()
        _ = try await producer.send(ProducerRecord(topic: "outage", value: "written, then aborted"))

        // The broker goes away: the next record cannot be delivered, and whether an attempt
        // reached the log is unknown to the producer.
        await broker.broker.shutdown()
        let lost = await Task { try await producer.send(ProducerRecord(topic: "outage", value: "lost")) }.result
        #expect(throws: KafkaProducerError.self) { try lost.get() }
        #expect(producer.transactionState == .abortableError)

        broker = try await broker.restarted()
        try await producer.abortTransaction()
        let after = try #require(producer.producerIdentity)
        #expect(after.producerId == before.producerId && after.epoch == before.epoch + 1)

        try producer.beginTransaction()
        _ = try await producer.send(ProducerRecord(topic: "outage", value: "committed"))
        try await producer.commitTransaction()
        await producer.close()

        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: broker.bootstrap))
        var configuration = try ConsumerConfiguration(bootstrap: broker.bootstrap)
        configuration.isolationLevel = .readCommitted
        configuration.fetchMaxWait = .milliseconds(100)
        let consumer = KafkaConsumer(configuration: configuration, cluster: cluster)
        try await consumer.assign([TopicPartition("outage", 0): .beginning])
        let records = try await pollRecords(consumer, count: 1)
        let extra = try await consumer.poll(timeout: .milliseconds(300))
        await consumer.close()
        await cluster.close()
        #expect((records + extra).map { String(buffer: $0.value!) } == ["committed"])
    }

    @Test func aSecondInstanceFencesTheFirstWhichWritesNothingMore() async throws {
        try await withBroker { broker in
            try await broker.createTopic("fence", partitions: 1)
            let first = try await transactional(broker, id: "fenced-id")
            try await first.initTransactions()
            try first.beginTransaction()
            _ = try await first.send(ProducerRecord(topic: "fence", value: "before"))

            let second = try await transactional(broker, id: "fenced-id")
            try await second.initTransactions()   // aborts the first one's transaction

            var fatal: KafkaProducerError?
            do throws(KafkaProducerError) {
                _ = try await first.send(ProducerRecord(topic: "fence", value: "after"))
                try await first.commitTransaction()
            } catch {
                fatal = error
            }
            #expect(fatal?.isFatal == true)
            #expect(first.transactionState == .fatalError)
            // Every later call fails the same way; nothing reaches the log.
            do throws(KafkaProducerError) {
                try first.beginTransaction()
                _ = try await first.send(ProducerRecord(topic: "fence", value: "later"))
                Issue.record("a fenced producer accepted a record")
            } catch {
                #expect(error.isFatal)
            }
            await first.close()

            try second.beginTransaction()
            _ = try await second.send(ProducerRecord(topic: "fence", value: "second"))
            try await second.commitTransaction()
            await second.close()

            let connection = try await KafkaConnection.connect(to: try BrokerAddress(parsing: broker.bootstrap))
            let response = try await connection.send(FetchRequest(
                replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
                topics: [FetchRequest.FetchTopic(topic: "fence", partitions: [FetchRequest.FetchPartition(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)])]),
                version: 12)
            await connection.close()
            var values: [String] = []
            if let records = response.responses.first?.partitions.first?.records {
                var reader = RecordSetReader(records)
                try reader.forEachRecord { record in
                    if let value = record.value { values.append(String(buffer: value)) }
                }
            }
            #expect(values.contains("before"))
            #expect(values.contains("second"))
            #expect(!values.contains("after") && !values.contains("later"))
        }
    }

    @Test func readCommittedAcrossSegmentAndFetchBoundaries() async throws {
        try await withBroker { broker in
            // Segments of at most 1 KiB: transactions, their markers and the aborted index span
            // many segments; fetches of 512 bytes end inside transactions.
            try await KafkaAdmin(cluster: broker.cluster).createTopics([NewTopic(name: "segments", partitions: 1, replicationFactor: 1,
                                                                                 configs: ["segment.bytes": "1024"])])
            let producer = try await transactional(broker, id: "segments-txn") { $0.batchSize = 300; $0.linger = .zero }
            try await producer.initTransactions()
            var expected: [String] = []
            for transaction in 0..<12 {
                try producer.beginTransaction()
                for i in 0..<15 {
                    let value = "t\(transaction)-r\(i)-" + String(repeating: "x", count: 40)
                    _ = try await producer.send(ProducerRecord(topic: "segments", partition: 0, value: value))
                    if transaction % 3 != 1 { expected.append(value) }
                }
                if transaction % 3 == 1 {
                    try await producer.abortTransaction()
                } else {
                    try await producer.commitTransaction()
                }
            }
            await producer.close()

            let records = try await readCommitted(broker, [TopicPartition("segments", 0)], count: expected.count, settle: .milliseconds(500)) {
                $0.maxPartitionFetchBytes = 512
                $0.fetchMaxBytes = 512
            }
            #expect(records.map { String(buffer: $0.value!) } == expected)
        }
    }
}

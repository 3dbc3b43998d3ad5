import Foundation
import KafkaBroker
import KafkaClient
import KafkaProtocol
import Logging
import NIOCore
@testable import Rivulet
import Synchronization
import Testing

/// `ChangelogRestorer` against a dev broker: changelogs shaped by compaction, transactions,
/// deleted records and outages must end restoration or fail it with a typed error, never hang.
@Suite(.serialized) struct ChangelogRestorerTests {
    /// A compacted topic of one partition; small segments so that compaction starts soon.
    private func createChangelog(_ cluster: StreamsTestCluster, _ name: String, configs: [String: String] = [:]) async throws -> TopicPartition {
        try await cluster.admin.createTopics([NewTopic(name: name, partitions: 1, replicationFactor: 1,
                                                       configs: ["cleanup.policy": "compact"].merging(configs) { _, new in new })])
        return TopicPartition(name, 0)
    }

    /// A restore consumer as the runtime configures it; `fetchBytes` caps each fetch of a partition.
    private func makeRestorer(
        _ cluster: StreamsTestCluster, stallTimeout: Duration = .seconds(60), fetchBytes: Int32? = nil, reset: OffsetResetStrategy = .earliest
    ) throws -> (ChangelogRestorer, KafkaConsumer) {
        var configuration = try ConsumerConfiguration(bootstrap: cluster.bootstrap)
        configuration.enableAutoCommit = false
        configuration.autoOffsetReset = reset
        configuration.fetchMaxWait = .milliseconds(100)
        if let fetchBytes {
            configuration.maxPartitionFetchBytes = fetchBytes
            configuration.maxPollRecords = 5
            // One response (a batch of five) ahead at most, so a change to the log beneath the
            // restore meets fetches still to come rather than records already buffered.
            configuration.minBufferedRecords = 5
        }
        let consumer = KafkaConsumer(configuration: configuration)
        let restorer = ChangelogRestorer(
            consumer: consumer, admin: cluster.admin, listener: nil, logger: Logger(label: "restore-test"),
            stallTimeout: stallTimeout, progressCheckInterval: .milliseconds(300))
        return (restorer, consumer)
    }

    /// Writes one record batch exactly as given (a plain batch, or part of a transaction).
    private func produceBatch(
        _ cluster: StreamsTestCluster, _ partition: TopicPartition, _ records: [(key: String, value: String?)],
        transaction: (id: String, producerId: Int64, epoch: Int16, sequence: Int32)? = nil
    ) async throws {
        var builder = RecordBatchBuilder(
            producerId: transaction?.producerId ?? RecordBatchHeader.noProducerId, producerEpoch: transaction?.epoch ?? -1,
            baseSequence: transaction?.sequence ?? RecordBatchHeader.noSequence, isTransactional: transaction != nil)
        for record in records {
            try builder.append(timestamp: 1_000, key: ByteBuffer(string: record.key), value: record.value.map { ByteBuffer(string: $0) })
        }
        let request = ProduceRequest(
            transactionalId: transaction?.id, acks: -1, timeoutMs: 10_000,
            topicData: [.init(name: partition.topic, partitionData: [.init(index: partition.partition, records: try builder.build())])])
        let response = try await cluster.cluster.sendToAny(request)
        let code = response.responses.first?.partitionResponses.first?.errorCode
        #expect(code == 0, "produce failed: \(code.map { KafkaErrorCode($0) } as Any)")
    }

    /// The header of the partition's first batch, fetched on the wire.
    private func firstBatchHeader(_ cluster: StreamsTestCluster, _ partition: TopicPartition) async throws -> RecordBatchHeader {
        let metadata = try await cluster.cluster.refreshMetadata(topics: [partition.topic])
        var fetchPartition = FetchRequest.FetchPartition()
        fetchPartition.partition = partition.partition
        fetchPartition.fetchOffset = 0
        fetchPartition.partitionMaxBytes = 1 << 20
        fetchPartition.currentLeaderEpoch = -1
        fetchPartition.lastFetchedEpoch = -1
        fetchPartition.logStartOffset = -1
        var topic = FetchRequest.FetchTopic()
        topic.topic = partition.topic
        topic.topicId = try #require(metadata.topics[partition.topic]?.id)
        topic.partitions = [fetchPartition]
        var request = FetchRequest()
        request.replicaId = -1
        request.maxWaitMs = 100
        request.minBytes = 1
        request.maxBytes = 1 << 20
        request.sessionEpoch = -1
        request.topics = [topic]
        let response = try await cluster.cluster.sendToAny(request)
        let data = try #require(response.responses.first?.partitions.first)
        #expect(data.errorCode == 0)
        var reader = RecordSetReader(try #require(data.records))
        guard case let .batch(batch)? = try reader.next() else {
            Issue.record("no record batch at the start of \(partition)")
            throw CancellationError()
        }
        return batch.header
    }

    private func endOffset(_ cluster: StreamsTestCluster, _ partition: TopicPartition) async throws -> Int64 {
        try await cluster.admin.listOffsets([partition: .latest])[partition]!.offset
    }

    private func restoreAll(_ restorer: ChangelogRestorer, _ starts: [TopicPartition: Int64?]) async throws -> [ChangelogRecord] {
        var applied: [ChangelogRecord] = []
        let count = try await restorer.restore(starts) { _, records in applied += records }
        #expect(count == applied.count)
        return applied
    }

    /// The error a restore that should fail throws; records an issue when it ends otherwise.
    private func restoreExpectingFailure(
        _ restorer: ChangelogRestorer, _ starts: [TopicPartition: Int64?], apply: (TopicPartition, [ChangelogRecord]) throws -> Void
    ) async -> ChangelogRestorationError? {
        do {
            _ = try await restorer.restore(starts, apply: apply)
            Issue.record("restoration ended without an error")
        } catch let error as ChangelogRestorationError {
            return error
        } catch {
            Issue.record("restoration failed with \(error)")
        }
        return nil
    }

    @Test func aChangelogEndingInATransactionCommitMarkerIsRestoredToItsEnd() async throws {
        let cluster = try await StreamsTestCluster.start()
        defer { Task { await cluster.stop() } }
        let changelog = try await createChangelog(cluster, "txn-changelog")
        // A transactional producer, spoken to on the wire: the client has no transactions yet.
        let id = "restore-test-txn"
        let initialized = try await cluster.cluster.sendToAny(InitProducerIdRequest(
            transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1))
        try #require(initialized.errorCode == 0)
        let (producerId, epoch) = (initialized.producerId, initialized.producerEpoch)
        let topics = [AddPartitionsToTxnRequest.AddPartitionsToTxnTopic(name: changelog.topic, partitions: [0])]
        let added = try await cluster.cluster.sendToAny(AddPartitionsToTxnRequest(
            transactions: [],
            v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: topics))
        #expect(added.errorCode == 0)
        for result in added.resultsByTopicV3AndBelow + added.resultsByTransaction.flatMap(\.topicResults) {
            #expect(result.resultsByPartition.allSatisfy { $0.partitionErrorCode == 0 })
        }
        try await produceBatch(cluster, changelog, [("a", "1"), ("b", "2"), ("a", "3")],
                               transaction: (id, producerId, epoch, 0))
        let ended = try await cluster.cluster.sendToAny(EndTxnRequest(transactionalId: id, producerId: producerId, producerEpoch: epoch, committed: true))
        #expect(ended.errorCode == 0)
        // Three records and the commit marker after them.
        #expect(try await eventually(timeout: .seconds(10)) { try await endOffset(cluster, changelog) == 4 })

        let (restorer, consumer) = try makeRestorer(cluster, stallTimeout: .seconds(20))
        let all = try await restoreAll(restorer, [changelog: nil])
        #expect(all.map(\.offset) == [0, 1, 2])
        #expect(all.map { String(buffer: $0.value!) } == ["1", "2", "3"])
        // From a checkpoint just before the marker only the marker is left: the position must
        // move past it rather than wait for a record that never comes.
        let tail = try await restoreAll(restorer, [changelog: 3])
        #expect(tail.isEmpty)
        await consumer.close()
    }

    @Test func aBatchWhoseLastRecordsWereCompactedAwayStillEndsRestoration() async throws {
        let cluster = try await StreamsTestCluster.start()
        defer { Task { await cluster.stop() } }
        let changelog = try await createChangelog(cluster, "compacted-changelog", configs: [
            "segment.bytes": "1024", "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "0",
        ])
        // Offsets 0...2 in one batch; later batches supersede b and c, so compaction keeps only
        // `a` of it, and must keep the batch's last offset (2) so readers move past it.
        try await produceBatch(cluster, changelog, [("a", "a0"), ("b", "b0"), ("c", "c0")])
        let filler = String(repeating: "x", count: 300)
        for round in 1...8 {
            try await produceBatch(cluster, changelog, [("b", "b\(round)\(filler)"), ("c", "c\(round)\(filler)")])
        }
        let end = try await endOffset(cluster, changelog)
        #expect(end == 19)
        let compacted = try await eventually(timeout: .seconds(30)) {
            let offsets = Set(try await cluster.readAll(changelog.topic).map(\.offset))
            return offsets.contains(0) && !offsets.contains(1) && !offsets.contains(2)
        }
        try #require(compacted, "the dev broker did not compact the first batch")
        // As in Kafka, the rewritten batch still spans offsets 0...2 though it holds one record.
        let first = try await firstBatchHeader(cluster, changelog)
        #expect(first.baseOffset == 0 && first.recordCount == 1 && first.lastOffset == 2)

        let (restorer, consumer) = try makeRestorer(cluster, stallTimeout: .seconds(20))
        // From a checkpoint inside the batch's removed tail.
        let fromInside = try await restoreAll(restorer, [changelog: 1])
        #expect(fromInside.allSatisfy { $0.offset >= 3 && $0.offset < end })
        var latest: [String: String] = [:]
        for record in try await restoreAll(restorer, [changelog: nil]) {
            latest[String(buffer: record.key)] = record.value.map { String(buffer: $0) }
        }
        let expected = try await cluster.latestStrings(changelog.topic)
        #expect(latest == expected)
        #expect(latest["a"] == "a0" && latest["b"] == "b8\(filler)")
        await consumer.close()
    }

    @Test func aCheckpointBelowTheLogStartIsInvalidAndRestorationStartsAtTheLogStart() async throws {
        let cluster = try await StreamsTestCluster.start()
        defer { Task { await cluster.stop() } }
        let changelog = try await createChangelog(cluster, "deleted-changelog")
        try await produceBatch(cluster, changelog, (0..<10).map { (key: "k\($0)", value: "v\($0)") })
        let logStart = try await cluster.admin.deleteRecords(before: [changelog: 6])
        #expect(logStart[changelog] == 6)

        let (restorer, consumer) = try makeRestorer(cluster)
        // Below the log start: records the store needs are gone. Past the end: a recreated topic.
        #expect(try await restorer.invalidCheckpoints([changelog: 3]) == [changelog])
        #expect(try await restorer.invalidCheckpoints([changelog: 11]) == [changelog])
        #expect(try await restorer.invalidCheckpoints([changelog: 6]) == [])
        #expect(try await restorer.invalidCheckpoints([changelog: nil]) == [])
        // A wiped store restores from the log start.
        let restored = try await restoreAll(restorer, [changelog: nil])
        #expect(restored.map(\.offset) == [6, 7, 8, 9])
        await consumer.close()
    }

    @Test func aBrokerThatStaysAwayFailsRestorationWithAStallNamingThePartition() async throws {
        let cluster = try await StreamsTestCluster.start()
        defer { Task { await cluster.stop() } }
        let changelog = try await createChangelog(cluster, "stalled-changelog")
        let value = String(repeating: "v", count: 200)
        for batch in 0..<20 {
            try await produceBatch(cluster, changelog, (0..<5).map { (key: "k\(batch)-\($0)", value: value) })
        }
        let (restorer, consumer) = try makeRestorer(cluster, stallTimeout: .seconds(2), fetchBytes: 1)
        let stopping = Mutex(false)
        let started = ContinuousClock.now
        var applied = 0
        let error = await restoreExpectingFailure(restorer, [changelog: nil]) { _, records in
                applied += records.count
                // The broker goes away once restoration is under way.
                if stopping.withLock({ let first = !$0; $0 = true; return first }) {
                    Task { await cluster.broker.shutdown() }
                }
        }
        #expect(ContinuousClock.now - started < .seconds(60))
        guard case let .stalled(partition, position, endOffset, _, waited)? = error else {
            Issue.record("expected a stall, got \(String(describing: error))")
            return
        }
        #expect(partition == changelog)
        #expect(endOffset == 100)
        #expect(position >= Int64(applied) && position < 100)
        #expect(waited >= .seconds(2))
        await consumer.close()
    }

    @Test func aBrieflyUnreachableBrokerOnlyDelaysRestoration() async throws {
        let cluster = try await StreamsTestCluster.start()
        defer { Task { await cluster.stop() } }
        let changelog = try await createChangelog(cluster, "outage-changelog")
        let value = String(repeating: "v", count: 200)
        for batch in 0..<20 {
            try await produceBatch(cluster, changelog, (0..<5).map { (key: "k\(batch)-\($0)", value: value) })
        }
        let (restorer, consumer) = try makeRestorer(cluster, stallTimeout: .seconds(60), fetchBytes: 1)
        let restarting = Mutex(false)
        let down = RecreationFlag()
        var offsets: [Int64] = []
        _ = try await restorer.restore([changelog: nil]) { _, records in
            offsets += records.map(\.offset)
            guard restarting.withLock({ let first = !$0; $0 = true; return first }) else { return }
            Task { try await cluster.restartBroker(downtime: .seconds(1)) { down.done.withLock { $0 = true } } }
            // Restoration goes on only once the broker is gone, so it meets the outage.
            for _ in 0..<200 where !down.done.withLock({ $0 }) { usleep(25_000) }
            #expect(down.done.withLock { $0 })
        }
        #expect(offsets == Array(0..<100))
        await consumer.close()
    }

    /// With the runtime's `earliest` reset the consumer jumps and the restorer notices; with none it reports the fetch out of range.
    @Test(arguments: [OffsetResetStrategy.earliest, OffsetResetStrategy.none])
    func recordsDeletedPastThePositionOfARestoreFromACheckpointFailIt(reset: OffsetResetStrategy) async throws {
        let cluster = try await StreamsTestCluster.start()
        defer { Task { await cluster.stop() } }
        let changelog = try await createChangelog(cluster, "deleted-while-restoring")
        let value = String(repeating: "v", count: 200)
        for batch in 0..<20 {
            try await produceBatch(cluster, changelog, (0..<5).map { (key: "k\(batch)-\($0)", value: value) })
        }
        let (restorer, consumer) = try makeRestorer(cluster, stallTimeout: .seconds(20), fetchBytes: 1, reset: reset)
        let deleting = Mutex(false)
        let deleted = RecreationFlag()
        let error = await restoreExpectingFailure(restorer, [changelog: 5]) { _, _ in
            guard deleting.withLock({ let first = !$0; $0 = true; return first }) else { return }
            Task {
                _ = try await cluster.admin.deleteRecords(before: [changelog: 80])
                deleted.done.withLock { $0 = true }
            }
            for _ in 0..<200 where !deleted.done.withLock({ $0 }) { usleep(25_000) }
        }
        guard case let .recordsDeleted(partition, position, logStart)? = error else {
            Issue.record("expected deleted records, got \(String(describing: error))")
            return
        }
        #expect(partition == changelog)
        #expect(logStart == 80)
        #expect(position >= 5 && position < 80)
        await consumer.close()
    }

    /// With the runtime's `earliest` reset the consumer jumps and the restorer notices; with none it reports the fetch out of range.
    @Test(arguments: [OffsetResetStrategy.earliest, OffsetResetStrategy.none])
    func aChangelogTruncatedBeneathTheRestoreFailsIt(reset: OffsetResetStrategy) async throws {
        let cluster = try await StreamsTestCluster.start()
        defer { Task { await cluster.stop() } }
        let changelog = try await createChangelog(cluster, "recreated-changelog")
        let value = String(repeating: "v", count: 200)
        for batch in 0..<20 {
            try await produceBatch(cluster, changelog, (0..<5).map { (key: "k\(batch)-\($0)", value: value) })
        }
        let (restorer, consumer) = try makeRestorer(cluster, stallTimeout: .seconds(20), fetchBytes: 1, reset: reset)
        let recreating = Mutex(false)
        let recreated = RecreationFlag()
        let error = await restoreExpectingFailure(restorer, [changelog: nil]) { _, records in
                guard recreating.withLock({ let first = !$0; $0 = true; return first }) else {
                    // Wait (bounded) for the new topic, so the restore meets it rather than the old log.
                    for _ in 0..<100 where !recreated.done.withLock({ $0 }) { usleep(50_000) }
                    return
                }
                Task {
                    try await cluster.admin.deleteTopics([changelog.topic])
                    _ = try await eventually(timeout: .seconds(10)) {
                        (try? await cluster.admin.createTopics([NewTopic(name: changelog.topic, partitions: 1, replicationFactor: 1,
                                                                         configs: ["cleanup.policy": "compact"])])) != nil
                    }
                    try await produceBatch(cluster, changelog, [("z", "1"), ("z", "2")])
                    recreated.done.withLock { $0 = true }
                }
        }
        guard case let .truncated(partition, _, endOffset)? = error else {
            Issue.record("expected a truncation, got \(String(describing: error))")
            return
        }
        #expect(partition == changelog)
        #expect(endOffset == 2)
        await consumer.close()
    }
}

/// Set by a task that changed the cluster (recreated a topic, stopped the broker), read by the restore it races with.
private final class RecreationFlag: Sendable {
    let done = Mutex(false)
}

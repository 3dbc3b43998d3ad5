import Foundation
import KafkaProtocol
import NIOCore
import Synchronization
import Testing
@testable import KafkaClient

/// The accumulator without a network: batching, readiness, buffer bound, and the sequence
/// rules that keep idempotent retries in order. Time is passed to `drain` explicitly.
@Suite struct RecordAccumulatorTests {
    private func makeAccumulator(partitions: Int32 = 1, _ configure: (inout ProducerConfiguration) -> Void = { _ in }) throws -> RecordAccumulator {
        var configuration = try ProducerConfiguration(bootstrap: "127.0.0.1:1")
        configuration.linger = .milliseconds(50)
        configuration.retryBackoff = .milliseconds(10)
        configuration.retryBackoffMax = .milliseconds(10)
        configuration.partitioner = .manual
        configure(&configuration)
        let accumulator = RecordAccumulator(settings: .init(configuration), bufferMemory: configuration.bufferMemory)
        let topic = ClusterMetadata.Topic(
            name: "t", id: UUID(), isInternal: false,
            partitions: (0..<partitions).map { .init(partition: $0, leader: 0, leaderEpoch: 0, replicas: [0], inSyncReplicas: [0], error: .noError) },
            error: .noError)
        accumulator.updateMetadata(ClusterMetadata(brokers: [0: .init(nodeId: 0, address: BrokerAddress(host: "127.0.0.1", port: 1))], topics: ["t": topic]), adding: ["t"])
        return accumulator
    }

    @discardableResult
    private func append(_ accumulator: RecordAccumulator, partition: Int32 = 0, valueSize: Int = 100, count: Int = 1) -> [RecordAccumulator.AppendResult] {
        (0..<count).map { _ in
            let record = ProducerRecord(topic: "t", partition: partition, value: ByteBuffer(repeating: 0x61, count: valueSize))
            let size = RecordSize.encoded(key: nil, value: record.value, headers: [])
            return accumulator.append(record, timestamp: 1_700_000_000_000, size: size, continuation: nil, reserved: false)
        }
    }

    private let later = NIODeadline.now() + .seconds(1)

    @Test func recordsFillBatchesUpToBatchSize() throws {
        let accumulator = try makeAccumulator { $0.batchSize = 1000; $0.enableIdempotence = false; $0.acks = .leader }
        append(accumulator, count: 30)
        var counts: [Int32] = []
        for _ in 0..<10 {
            let plan = accumulator.drain(now: later, readyNodes: [0])
            guard let request = plan.requests.first else { break }
            for batch in request.batches {
                #expect(batch.estimatedSize <= 1000)
                counts.append(batch.recordCount)
            }
            _ = accumulator.complete(node: 0, outcomes: request.batches.map { ($0, .success(.init(baseOffset: 0, logAppendTime: -1))) })
        }
        #expect(counts.reduce(0, +) == 30)
        #expect(counts.count >= 4)
        #expect(counts.dropLast().allSatisfy { $0 == counts[0] })
        #expect(accumulator.snapshot == .init(queuedBatches: 0, inFlightBatches: 0, memoryUsed: 0, resetPending: false))
    }

    @Test func batchLingersUntilDueUnlessFullOrFlushed() throws {
        let accumulator = try makeAccumulator { $0.enableIdempotence = false; $0.acks = .leader }
        let start = NIODeadline.now()
        append(accumulator)
        let early = accumulator.drain(now: start, readyNodes: [0])
        #expect(early.requests.isEmpty)
        let wakeup = try #require(early.nextWakeup)
        #expect(wakeup > start && wakeup <= NIODeadline.now() + .milliseconds(50))
        #expect(accumulator.drain(now: wakeup, readyNodes: [0]).requests.count == 1)
    }

    @Test func flushMakesLingeringBatchesReadyAndWaitsForThem() async throws {
        let accumulator = try makeAccumulator { $0.linger = .seconds(60); $0.enableIdempotence = false; $0.acks = .leader }
        append(accumulator)
        let flushed = Task {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                if !accumulator.registerFlush(continuation) { continuation.resume() }
            }
        }
        var plan = accumulator.drain(now: .now(), readyNodes: [0])
        while plan.requests.isEmpty {
            try await Task.sleep(for: .milliseconds(5))
            plan = accumulator.drain(now: .now(), readyNodes: [0])
        }
        let effects = accumulator.complete(node: 0, outcomes: plan.requests[0].batches.map { ($0, .success(.init(baseOffset: 0, logAppendTime: -1))) })
        // The flush is not resumed by the decision itself but once the outcome is delivered.
        #expect(effects.completions.flushes.isEmpty)
        #expect(accumulator.hasUnfiredOutcomes)
        CompletionTargets(accumulator: accumulator, interceptors: [], reports: nil, reportMode: .none).fire(effects.completions)
        #expect(!accumulator.hasUnfiredOutcomes)
        await flushed.value
    }

    /// Two partitions' outcomes decided on two threads: the flush must not return while the
    /// first decided batch's reports are still undelivered, even if the other batch, decided
    /// later, is delivered first (a closing producer would otherwise cut those reports off).
    @Test func flushWaitsForEveryCoveredReportEvenWhenDeliveriesOverlap() async throws {
        let accumulator = try makeAccumulator(partitions: 2) { $0.linger = .seconds(60); $0.enableIdempotence = false; $0.acks = .leader }
        append(accumulator, partition: 0)
        append(accumulator, partition: 1)
        let resumed = Mutex(false)
        let flushed = Task {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                if !accumulator.registerFlush(continuation) { continuation.resume() }
            }
            resumed.withLock { $0 = true }
        }
        var batches: [ProducerBatch] = []
        while batches.count < 2 {
            for request in accumulator.drain(now: .now(), readyNodes: [0]).requests { batches += request.batches }
            if batches.count < 2 { try await Task.sleep(for: .milliseconds(5)) }
        }
        let (reports, continuation) = AsyncStream.makeStream(of: DeliveryReport.self)
        let targets = CompletionTargets(accumulator: accumulator, interceptors: [], reports: continuation, reportMode: .all)
        let first = accumulator.complete(node: 0, outcomes: [(batches[0], .success(.init(baseOffset: 0, logAppendTime: -1)))])
        let second = accumulator.complete(node: 0, outcomes: [(batches[1], .success(.init(baseOffset: 0, logAppendTime: -1)))])
        targets.fire(second.completions)
        try await Task.sleep(for: .milliseconds(50))
        #expect(!resumed.withLock { $0 }, "flush returned before the first batch's report was delivered")
        targets.fire(first.completions)
        await flushed.value
        continuation.finish()
        var delivered = 0
        for await _ in reports { delivered += 1 }
        #expect(delivered == 2)
    }

    @Test func bufferMemoryBoundsAppends() throws {
        let accumulator = try makeAccumulator { $0.bufferMemory = 1000; $0.enableIdempotence = false; $0.acks = .leader }
        let results = append(accumulator, valueSize: 300, count: 4)
        guard case .appended = results[0], case .appended = results[2] else { Issue.record("first records refused"); return }
        guard case .needsMemory = results[3] else { Issue.record("fourth record accepted past the bound: \(results[3])"); return }
        #expect(accumulator.snapshot.memoryUsed <= 1000)
        let plan = accumulator.drain(now: later, readyNodes: [0])
        _ = accumulator.complete(node: 0, outcomes: plan.requests[0].batches.map { ($0, .success(.init(baseOffset: 0, logAppendTime: -1))) })
        #expect(accumulator.snapshot.memoryUsed == 0)
        guard case .appended = append(accumulator, valueSize: 300)[0] else { Issue.record("room not freed"); return }
    }

    @Test func inFlightBatchesPerPartitionAreLimited() throws {
        let accumulator = try makeAccumulator { $0.batchSize = 200; $0.maxInFlightRequestsPerConnection = 2 }
        accumulator.installIdentity(ProducerIdentity(producerId: 7, epoch: 0))
        append(accumulator, count: 5)
        var sent = 0
        for _ in 0..<5 { sent += accumulator.drain(now: later, readyNodes: [0]).requests.count }
        #expect(sent == 2)
        #expect(accumulator.snapshot.inFlightBatches == 2)
    }

    @Test func sequencesAreAssignedOnFirstSendAndKeptOnRetry() throws {
        let accumulator = try makeAccumulator { $0.batchSize = 400 }
        accumulator.installIdentity(ProducerIdentity(producerId: 7, epoch: 3))
        append(accumulator, count: 6)
        let first = try #require(accumulator.drain(now: later, readyNodes: [0]).requests.first?.batches.first)
        #expect(first.sequence == 0)
        #expect(first.builder.producerId == 7 && first.builder.producerEpoch == 3 && first.builder.baseSequence == 0)
        let second = try #require(accumulator.drain(now: later, readyNodes: [0]).requests.first?.batches.first)
        #expect(second.sequence == Int64(first.recordCount))

        // The first fails on the connection: nothing more is sent until the second is back too.
        _ = accumulator.complete(node: 0, outcomes: [(first, .failure(.connection("reset")))])
        #expect(accumulator.drain(now: later + .seconds(1), readyNodes: [0]).requests.isEmpty)
        // The broker refused the second for the gap the first left.
        _ = accumulator.complete(node: 0, outcomes: [(second, .failure(.broker(.outOfOrderSequenceNumber, message: nil)))])
        #expect(!accumulator.snapshot.resetPending)
        // Both go again, in order, with their sequences.
        let retried = try #require(accumulator.drain(now: later + .seconds(1), readyNodes: [0]).requests.first?.batches.first)
        #expect(retried === first && retried.sequence == 0 && retried.attempts == 2)
        let next = try #require(accumulator.drain(now: later + .seconds(1), readyNodes: [0]).requests.first?.batches.first)
        #expect(next === second && next.sequence == Int64(first.recordCount))
    }

    @Test func definiteFailureHandsSequencesOutAgain() throws {
        let accumulator = try makeAccumulator { $0.batchSize = 400 }
        accumulator.installIdentity(ProducerIdentity(producerId: 7, epoch: 0))
        append(accumulator, count: 6)
        let a = try #require(accumulator.drain(now: later, readyNodes: [0]).requests.first?.batches.first)
        let b = try #require(accumulator.drain(now: later, readyNodes: [0]).requests.first?.batches.first)
        let refused = accumulator.complete(node: 0, outcomes: [(a, .failure(.broker(.messageTooLarge, message: nil)))])
        let result = try #require(refused.completions.batches.first?.1)
        #expect(throws: KafkaProducerError.messageTooLarge(topic: "t", partition: 0)) { try result.get() }
        _ = accumulator.complete(node: 0, outcomes: [(b, .failure(.broker(.outOfOrderSequenceNumber, message: nil)))])
        let resent = try #require(accumulator.drain(now: later + .seconds(1), readyNodes: [0]).requests.first?.batches.first)
        // `a` is not in the log, so `b` takes over its sequence; no new producer id is needed.
        #expect(resent === b && resent.sequence == 0 && resent.builder.baseSequence == 0)
        #expect(!accumulator.snapshot.resetPending)
    }

    @Test func lostProducerStateNeedsNewProducerId() throws {
        let accumulator = try makeAccumulator { $0.batchSize = 400 }
        accumulator.installIdentity(ProducerIdentity(producerId: 7, epoch: 0))
        append(accumulator, count: 2)
        let a = try #require(accumulator.drain(now: later, readyNodes: [0]).requests.first?.batches.first)
        _ = accumulator.complete(node: 0, outcomes: [(a, .success(.init(baseOffset: 0, logAppendTime: -1)))])
        append(accumulator, count: 2)
        let b = try #require(accumulator.drain(now: later, readyNodes: [0]).requests.first?.batches.first)
        #expect(b.sequence == Int64(a.recordCount))
        // Nothing of ours is missing before `b`, yet the broker wants another sequence.
        _ = accumulator.complete(node: 0, outcomes: [(b, .failure(.broker(.outOfOrderSequenceNumber, message: nil)))])
        #expect(accumulator.snapshot.resetPending)
        let waiting = accumulator.drain(now: later + .seconds(1), readyNodes: [0])
        #expect(waiting.requests.isEmpty && waiting.wantsProducerId)
        accumulator.installIdentity(ProducerIdentity(producerId: 8, epoch: 0))
        let resent = try #require(accumulator.drain(now: later + .seconds(1), readyNodes: [0]).requests.first?.batches.first)
        #expect(resent === b && resent.sequence == 0 && resent.builder.producerId == 8)
    }

    @Test func queuedBatchesExpireWithTypedErrors() throws {
        let accumulator = try makeAccumulator { $0.deliveryTimeout = .milliseconds(100) }
        append(accumulator)
        let plan = accumulator.drain(now: .now(), readyNodes: [])
        #expect(plan.nodesToConnect == [0] && plan.wantsProducerId)
        accumulator.nodeFailed(0, reason: "connection refused")
        let expired = accumulator.drain(now: .now() + .milliseconds(200), readyNodes: [])
        let result = try #require(expired.completions.batches.first?.1)
        #expect(throws: KafkaProducerError.brokerUnreachable(reason: "connection refused")) { try result.get() }
        #expect(accumulator.snapshot == .init(queuedBatches: 0, inFlightBatches: 0, memoryUsed: 0, resetPending: false))
    }

    @Test func keylessRecordsStickToAPartitionUntilItsBatchIsSent() throws {
        let accumulator = try makeAccumulator(partitions: 6) { $0.partitioner = .murmur2; $0.batchSize = 1000 }
        func appendKeyless() -> Int32? {
            let record = ProducerRecord(topic: "t", value: ByteBuffer(repeating: 0x61, count: 100))
            let size = RecordSize.encoded(key: nil, value: record.value, headers: [])
            guard case .appended(let partition, _) = accumulator.append(record, timestamp: 0, size: size, continuation: nil, reserved: false) else { return nil }
            return partition
        }
        // A batch holds about 7 of these records: the partition changes as each batch fills.
        let partitions = (0..<70).compactMap { _ in appendKeyless() }
        #expect(partitions.count == 70)
        var runs: [Int] = []
        var previous: Int32 = -1
        for partition in partitions {
            if partition == previous { runs[runs.count - 1] += 1 } else { runs.append(1) }
            previous = partition
        }
        #expect(runs.count >= 8)
        #expect(runs.dropLast().allSatisfy { $0 >= 5 }, "\(runs)")
        #expect(Set(partitions).count > 1)
        // Keyed records follow murmur2, not the sticky partition.
        let keyed = ProducerRecord(topic: "t", key: ByteBuffer(bytes: [97, 98, 99, 100]), value: nil)
        guard case .appended(let partition, _) = accumulator.append(keyed, timestamp: 0, size: 30, continuation: nil, reserved: false) else {
            Issue.record("keyed record refused"); return
        }
        #expect(partition == 2) // murmur2("abcd") % 6, from the kafka-python vectors
    }

    @Test func unknownPartitionIsRefused() throws {
        let accumulator = try makeAccumulator(partitions: 2)
        guard case .failed(let error) = append(accumulator, partition: 5)[0] else { Issue.record("accepted"); return }
        #expect(error == .unknownPartition(topic: "t", partition: 5, partitionCount: 2))
        let unknown = accumulator.append(ProducerRecord(topic: "other", value: ByteBuffer()), timestamp: 0, size: 30, continuation: nil, reserved: false)
        guard case .needsMetadata = unknown else { Issue.record("unknown topic accepted"); return }
    }

    /// Keyed, keyless, explicitly placed and header-carrying records, then one to a topic the
    /// producer does not know yet (keyless ones are placed: a sticky choice is random).
    private func mixedRecords() -> [ProducerRecord] {
        (0..<40).map { index in
            ProducerRecord(
                topic: index == 30 ? "unknown" : "t", partition: index % 7 == 0 ? Int32(index % 3) : nil,
                key: index % 14 == 0 ? nil : ByteBuffer(string: "key-\(index % 9)"),
                value: index % 11 == 0 ? nil : ByteBuffer(repeating: UInt8(index), count: index * 3),
                headers: index % 4 == 0 ? [RecordHeader(key: "h", value: ByteBuffer(string: "\(index)"))] : [],
                timestamp: 1_700_000_000_000 + Int64(index))
        }
    }

    /// Every queued batch per partition, built.
    private func builtBatches(_ accumulator: RecordAccumulator) throws -> [Int32: [ByteBuffer]] {
        let plan = accumulator.drain(now: later, readyNodes: [0])
        var built: [Int32: [ByteBuffer]] = [:]
        for batch in plan.requests.flatMap(\.batches) {
            built[batch.topicPartition.partition, default: []].append(try batch.builder.build())
        }
        return built
    }

    @Test func aRunOfRecordsIsBatchedAsTheSameRecordsOneByOne() throws {
        let configure: (inout ProducerConfiguration) -> Void = { $0.partitioner = .murmur2; $0.batchSize = 300; $0.enableIdempotence = false; $0.acks = .leader }
        let records = mixedRecords()
        let single = try makeAccumulator(partitions: 3, configure)
        for record in records[..<30] {
            let size = RecordSize.encoded(key: record.key, value: record.value, headers: record.headers)
            guard case .appended = single.append(record, timestamp: record.timestamp!, size: size, continuation: nil, reserved: false) else {
                Issue.record("record refused")
                return
            }
        }
        let run = try makeAccumulator(partitions: 3, configure)
        var serialized = SerializedRecords(byteCapacity: 16)
        for record in records { serialized.append(record) }
        // Appended in slices, as the producer does; the run stops at the first record to a topic without metadata.
        var next = 0
        while true {
            let progress = run.append(serialized, from: next, limit: 7, reservedFirst: false, maxRecordSize: 1_000_000)
            next = progress.next
            if let blocker = progress.blocker {
                guard case .needsMetadata = blocker else { Issue.record("blocked by \(blocker)"); return }
                break
            }
        }
        #expect(next == 30)
        #expect(serialized.record(at: 12).key == records[12].key && serialized.record(at: 12).headers == records[12].headers)
        #expect(run.snapshot.memoryUsed == single.snapshot.memoryUsed)
        let expected = try builtBatches(single)
        #expect(expected.count == 3)
        #expect(try builtBatches(run) == expected)
    }

    @Test func aRunStopsAtARecordThatCannotBeAppendedAndGivesBackItsRoom() throws {
        let accumulator = try makeAccumulator(partitions: 2) { $0.bufferMemory = 1000; $0.enableIdempotence = false; $0.acks = .leader }
        var serialized = SerializedRecords()
        for partition: Int32 in [0, 1, 5, 0] {
            serialized.append(ProducerRecord(topic: "t", partition: partition, value: ByteBuffer(repeating: 0x61, count: 100), timestamp: 1))
        }
        let refused = accumulator.append(serialized, from: 0, limit: 100, reservedFirst: false, maxRecordSize: 1_000_000)
        #expect(refused.next == 2)
        guard case .failed(.unknownPartition(topic: "t", partition: 5, partitionCount: 2))? = refused.blocker else {
            Issue.record("expected unknownPartition, got \(String(describing: refused.blocker))")
            return
        }
        let used = accumulator.snapshot.memoryUsed
        // Room granted for the record it stopped at is given back when it is refused again.
        let again = accumulator.append(serialized, from: 2, limit: 100, reservedFirst: true, maxRecordSize: 1_000_000)
        #expect(again.next == 2)
        #expect(accumulator.snapshot.memoryUsed == used - RecordSize.encoded(keyLength: -1, valueLength: 100, headers: []))
        let tooLarge = accumulator.append(serialized, from: 3, limit: 100, reservedFirst: false, maxRecordSize: 100)
        guard case .failed(.recordTooLarge)? = tooLarge.blocker, tooLarge.next == 3 else {
            Issue.record("expected recordTooLarge at 3, got \(String(describing: tooLarge.blocker))")
            return
        }
        let full = accumulator.append(serialized, from: 3, limit: 100, reservedFirst: false, maxRecordSize: 1_000_000)
        #expect(full.next == 4 && full.blocker == nil)
        var more = SerializedRecords()
        for _ in 0..<10 { more.append(ProducerRecord(topic: "t", partition: 0, value: ByteBuffer(repeating: 0x62, count: 100), timestamp: 1)) }
        let bounded = accumulator.append(more, from: 0, limit: 100, reservedFirst: false, maxRecordSize: 1_000_000)
        guard case .needsMemory? = bounded.blocker else { Issue.record("appended past the buffer bound"); return }
        #expect(bounded.next > 0 && accumulator.snapshot.memoryUsed <= 1000)
    }
}

import KafkaProtocol
import NIOCore
import Synchronization

/// A transaction that was aborted, with the offsets it spans: read_committed consumers
/// drop this producer's records in that range.
struct AbortedTransaction: Equatable, Sendable {
    var producerId: Int64
    var firstOffset: Int64
    var lastOffset: Int64
}

/// What a fetch of one partition returns.
struct PartitionFetch: Sendable {
    var records: ByteBuffer?
    var highWatermark: Int64
    var lastStableOffset: Int64
    var logStartOffset: Int64
    var abortedTransactions: [AbortedTransaction]
}

/// One partition of one topic: its log, its producers' state and its transaction index,
/// behind one lock so that sequence checks, offset assignment and appends are atomic.
final class PartitionState: Sendable {
    let topic: String
    let partition: Int32

    private struct Inner {
        var log: PartitionLog
        var producers = ProducerStateTable()
        var aborted: [AbortedTransaction] = []
    }

    private let inner: Mutex<Inner>

    init(topic: String, partition: Int32, log: sending PartitionLog) throws {
        self.topic = topic
        self.partition = partition
        var state = Inner(log: log)
        try Self.rebuildProducerState(&state)
        self.inner = Mutex(state)
    }

    /// Replays batch headers (and control markers) to rebuild idempotence and transaction state.
    private static func rebuildProducerState(_ state: inout Inner) throws {
        var offset = state.log.logStartOffset
        let end = state.log.logEndOffset
        while offset < end, let chunk = try state.log.read(from: offset, endOffset: end, maxBytes: 1 << 20) {
            var position = chunk.readerIndex
            let limit = chunk.writerIndex
            while position + RecordBatchHeader.size <= limit {
                let header = try RecordBatchHeader(from: chunk, at: position)
                let first = header.baseOffset
                let last = header.lastOffset
                if header.attributes.isControl, let batch = chunk.getSlice(at: position, length: header.totalSize) {
                    applyMarker(batch: batch, header: header, state: &state)
                }
                state.producers.record(header, firstOffset: first, lastOffset: last)
                position += header.totalSize
                offset = last + 1
            }
        }
    }

    private static func applyMarker(batch: ByteBuffer, header: RecordBatchHeader, state: inout Inner) {
        guard TransactionMarkers.kind(ofBatchBytes: batch) == .abort,
              let first = state.producers.openTransactionFirstOffset(producerId: header.producerId) else { return }
        state.aborted.append(AbortedTransaction(producerId: header.producerId, firstOffset: first, lastOffset: header.baseOffset))
    }

    var logEndOffset: Int64 { inner.withLock { $0.log.logEndOffset } }
    var logStartOffset: Int64 { inner.withLock { $0.log.logStartOffset } }

    /// Validates, de-duplicates and appends a produce request's records.
    func append(_ records: ByteBuffer, nowMs: Int64) throws(AppendError) -> AppendResult {
        try inner.withLock { (state: inout Inner) throws(AppendError) -> AppendResult in
            let batches = try state.log.validate(records)
            // A produce request carries at most one batch per partition from modern clients;
            // sequence rules are checked per batch all the same.
            var fresh: [IncomingBatch] = []
            var duplicate: ProducerStateTable.BatchMetadata?
            var scratch = state.producers
            for batch in batches {
                switch try scratch.check(batch.header) {
                case .append:
                    fresh.append(batch)
                    scratch.record(batch.header, firstOffset: 0, lastOffset: 0)
                case .duplicate(let original):
                    duplicate = original
                }
            }
            if fresh.isEmpty, let duplicate {
                return AppendResult(baseOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset, logAppendTime: -1)
            }
            guard fresh.count == batches.count else {
                throw AppendError(code: .duplicateSequenceNumber, message: "request mixes new and retried batches")
            }
            let result: AppendResult
            do {
                result = try state.log.append(records, batches: batches, nowMs: nowMs)
            } catch {
                throw AppendError(code: .kafkaStorageError, message: "\(error)")
            }
            var offset = result.baseOffset
            for batch in batches {
                let last = offset + Int64(batch.header.lastOffsetDelta)
                state.producers.record(batch.header, firstOffset: offset, lastOffset: last)
                offset = last + 1
            }
            return result
        }
    }

    /// Writes a commit or abort marker for a producer's transaction on this partition.
    func writeMarker(producerId: Int64, producerEpoch: Int16, commit: Bool, coordinatorEpoch: Int32, nowMs: Int64) throws {
        try inner.withLock { state in
            let batch = try TransactionMarkers.batch(
                commit: commit, producerId: producerId, producerEpoch: producerEpoch,
                coordinatorEpoch: coordinatorEpoch, timestamp: nowMs)
            let firstOffset = state.producers.openTransactionFirstOffset(producerId: producerId)
            let batches = try state.log.validate(batch)
            let result = try state.log.append(batch, batches: batches, nowMs: nowMs)
            if !commit, let firstOffset {
                state.aborted.append(AbortedTransaction(producerId: producerId, firstOffset: firstOffset, lastOffset: result.baseOffset))
            }
            state.producers.record(batches[0].header, firstOffset: result.baseOffset, lastOffset: result.lastOffset)
        }
    }

    /// Fences a producer's older epochs on this partition.
    func bumpEpoch(producerId: Int64, to epoch: Int16) {
        inner.withLock { $0.producers.bumpEpoch(producerId: producerId, to: epoch) }
    }

    /// Reads from `offset`. With `readCommitted`, stops at the last stable offset and lists
    /// the aborted transactions that overlap what is returned.
    func fetch(from offset: Int64, maxBytes: Int, readCommitted: Bool) throws(FetchError) -> PartitionFetch {
        try inner.withLock { (state: inout Inner) throws(FetchError) -> PartitionFetch in
            let log = state.log
            let highWatermark = log.logEndOffset
            let lastStable = state.producers.firstUnstableOffset.map { min($0, highWatermark) } ?? highWatermark
            guard offset >= log.logStartOffset && offset <= highWatermark else {
                throw FetchError.offsetOutOfRange(logStartOffset: log.logStartOffset, logEndOffset: highWatermark)
            }
            let end = readCommitted ? lastStable : highWatermark
            let records: ByteBuffer?
            do {
                records = try log.read(from: offset, endOffset: end, maxBytes: maxBytes)
            } catch {
                throw FetchError.storage("\(error)")
            }
            var aborted: [AbortedTransaction] = []
            if readCommitted, records != nil {
                aborted = state.aborted.filter { $0.lastOffset >= offset && $0.firstOffset < end }
            }
            return PartitionFetch(records: records, highWatermark: highWatermark, lastStableOffset: lastStable,
                                  logStartOffset: log.logStartOffset, abortedTransactions: aborted)
        }
    }

    /// The end offset a consumer at `isolation` may read up to.
    func endOffset(readCommitted: Bool) -> Int64 {
        inner.withLock { state in
            let highWatermark = state.log.logEndOffset
            guard readCommitted else { return highWatermark }
            return state.producers.firstUnstableOffset.map { min($0, highWatermark) } ?? highWatermark
        }
    }

    /// ListOffsets by timestamp: the first record whose timestamp is at or after it, with that
    /// record's timestamp, or nil.
    func firstRecord(atOrAfter timestamp: Int64) throws -> (offset: Int64, timestamp: Int64)? {
        try inner.withLock { try $0.log.firstRecord(atOrAfter: timestamp) }
    }

    var maxTimestamp: Int64 { inner.withLock { $0.log.maxTimestamp } }

    func deleteRecords(before offset: Int64) throws -> Int64 {
        try inner.withLock { state in
            let low = try state.log.deleteRecords(before: offset)
            state.aborted.removeAll { $0.lastOffset < low }
            return low
        }
    }

    func updateConfig(_ config: LogConfig) {
        inner.withLock { $0.log.updateConfig(config) }
    }

    /// Periodic work: flush by `flush.ms`, retention.
    func housekeeping(nowMs: Int64) throws {
        try inner.withLock { state in
            try state.log.flush(nowMs: nowMs, force: false)
            try state.log.applyRetention(nowMs: nowMs)
        }
    }

    /// Whether a compaction pass is due (see `PartitionLog.cleaningDue`). Cheap: sizes only.
    func cleaningDue(nowMs: Int64) -> Bool {
        inner.withLock { $0.log.cleaningDue(firstUnstableOffset: $0.producers.firstUnstableOffset, nowMs: nowMs) }
    }

    /// Runs a compaction pass when one is due (or always, with `force`), and returns what it did,
    /// or nil when none ran.
    ///
    /// The lock is held only to take the plan and to swap the result in: the pass itself reads
    /// closed segments through descriptors of its own, so produce and fetch go on meanwhile and
    /// keep reading the old segments until the swap.
    @discardableResult
    func clean(nowMs: Int64, maxKeys: Int = LogCleaner.defaultMaxKeys, force: Bool = false,
               shouldStop: () -> Bool = { false }) throws -> CleaningSummary? {
        let taken = try inner.withLock { state -> (CleaningPlan, Int)? in
            guard let plan = try state.log.makeCleaningPlan(
                firstUnstableOffset: state.producers.firstUnstableOffset, aborted: state.aborted,
                retainedBatchOffsets: state.producers.lastBatchOffsets, nowMs: nowMs, maxKeys: maxKeys, force: force)
            else { return nil }
            return (plan, state.log.segments.count)
        }
        guard let (plan, segmentsBefore) = taken else { return nil }
        let cleaned = try LogCleaner.clean(plan, shouldStop: shouldStop)
        return try inner.withLock { state in
            let swapped = try state.log.completeCleaning(plan, cleaned)
            return CleaningSummary(cleanedThrough: cleaned.cleanedThrough, segmentsBefore: segmentsBefore,
                                   segmentsAfter: state.log.segments.count, recordsRemoved: cleaned.recordsRemoved,
                                   recordsKept: cleaned.recordsKept, swapped: swapped)
        }
    }

    func flush() throws {
        try inner.withLock { try $0.log.flush(nowMs: 0, force: true) }
    }

    func deleteFiles() throws {
        try inner.withLock { try $0.log.deleteAll() }
    }
}

/// Why a partition could not be read.
enum FetchError: Error {
    case offsetOutOfRange(logStartOffset: Int64, logEndOffset: Int64)
    case storage(String)
}

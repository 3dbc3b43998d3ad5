import KafkaProtocol
import NIOCore

/// Why a compaction pass stopped without output.
enum LogCleanerError: Error {
    /// The broker is shutting down.
    case stopped
}

/// Compaction of one partition's closed segments (`cleanup.policy=compact`): keeps the newest
/// record of every key, and a tombstone (null value) until `delete.retention.ms` after its
/// timestamp.
///
/// A pass first maps every key of the dirty segments (those written since the last pass) to its
/// newest offset, then rewrites every segment from the start of the log to the end of the mapped
/// range: a record survives when no newer record of its key was mapped. Segments below the first
/// dirty offset were compacted before, so their keys are already unique among themselves; the map
/// only has to cover the dirty ones. Consecutive small segments are merged into one, named by
/// the first one's base offset, as long as the result stays under `segment.bytes`.
///
/// Offsets never move: batches keep their base offset and records their offset delta. Records of
/// aborted transactions and records without a key are removed; control batches (transaction
/// markers) are kept, and the plan never reaches an open transaction. The output is written as
/// `.cleaned` files; `SegmentSwap` puts them in place.
enum LogCleaner {
    /// The default bound on keys held in memory by one pass (Kafka sizes this in bytes, 128 MiB).
    static let defaultMaxKeys = 1_000_000

    /// Runs one pass. `shouldStop` is polled between batches; when it returns true the pass
    /// deletes its output and throws `LogCleanerError.stopped`.
    static func clean(_ plan: CleaningPlan, shouldStop: () -> Bool = { false }) throws -> CleanedLog {
        let aborted = AbortedIndex(plan.aborted)
        var map = KeyOffsetMap()
        // 1. Map the dirty segments, as many as the key budget allows (at least one).
        var mappedEnd = plan.firstDirtyOffset
        for segment in plan.segments where segment.endOffset > plan.firstDirtyOffset {
            if map.count >= plan.maxKeys && mappedEnd > plan.firstDirtyOffset { break }
            var reader = SegmentBatchReader(file: segment.file, size: segment.size)
            while let (header, bytes) = try reader.next() {
                if shouldStop() { throw LogCleanerError.stopped }
                guard !header.isControl, !aborted.contains(header) else { continue }
                guard let batch = try? RecordBatch(decoding: bytes, at: bytes.readerIndex) else { continue }
                var records = batch.makeRecordIterator()
                while let record = try? records.next() {
                    if let key = record.key { map.record(key: key, offset: record.offset) }
                }
            }
            mappedEnd = segment.endOffset
        }
        // With nothing dirty (a pass run to drop expired tombstones), the clean part is rewritten alone.
        let cleanEnd = min(mappedEnd, plan.segments.last?.endOffset ?? mappedEnd)

        // 2. Rewrite the segments below the end of the mapped range, grouped.
        var groups: [CleanedLog.Group] = []
        var rewriter = Rewriter(plan: plan, map: map, aborted: aborted)
        for group in Self.groups(plan.segments.filter { $0.endOffset <= cleanEnd }, segmentBytes: plan.segmentBytes) {
            do {
                if try rewriter.write(group, shouldStop: shouldStop) {
                    groups.append(CleanedLog.Group(baseOffset: group[0].baseOffset, replaced: group.map(\.baseOffset)))
                }
            } catch {
                SegmentSwap.discard(directory: plan.directory, groups: groups + [CleanedLog.Group(baseOffset: group[0].baseOffset, replaced: [])])
                throw error
            }
        }
        return CleanedLog(groups: groups, cleanedThrough: max(cleanEnd, plan.firstDirtyOffset),
                          nextTombstoneExpiryMs: rewriter.nextTombstoneExpiryMs,
                          recordsRemoved: rewriter.recordsRemoved, recordsKept: rewriter.recordsKept)
    }

    /// Consecutive segments whose combined size fits `segment.bytes` (a larger one stands alone),
    /// and whose offsets fit the index's 32-bit relative offsets.
    static func groups(_ segments: [CleaningPlan.Segment], segmentBytes: Int) -> [[CleaningPlan.Segment]] {
        var result: [[CleaningPlan.Segment]] = []
        var current: [CleaningPlan.Segment] = []
        var bytes = 0
        for segment in segments {
            if let first = current.first,
               bytes + segment.size > segmentBytes || segment.endOffset - first.baseOffset > Int64(Int32.max) {
                result.append(current)
                current = []
                bytes = 0
            }
            current.append(segment)
            bytes += segment.size
        }
        if !current.isEmpty { result.append(current) }
        return result
    }
}

/// The aborted transactions of a partition, by producer, for "was this batch aborted?".
struct AbortedIndex {
    private var ranges: [Int64: [(first: Int64, last: Int64)]] = [:]

    init(_ aborted: [AbortedTransaction]) {
        for transaction in aborted {
            ranges[transaction.producerId, default: []].append((transaction.firstOffset, transaction.lastOffset))
        }
    }

    /// Whether `header` is a transactional data batch of a transaction that was aborted.
    func contains(_ header: RecordBatchHeader) -> Bool {
        guard header.isTransactional, !header.isControl, let spans = ranges[header.producerId] else { return false }
        return spans.contains { $0.first <= header.baseOffset && header.baseOffset <= $0.last }
    }
}

/// Writes one group of segments as a single `.cleaned` segment, keeping what compaction keeps.
private struct Rewriter {
    let plan: CleaningPlan
    let map: KeyOffsetMap
    let aborted: AbortedIndex
    let allocator = ByteBufferAllocator()
    var nextTombstoneExpiryMs: Int64?
    var recordsRemoved = 0
    var recordsKept = 0

    init(plan: CleaningPlan, map: KeyOffsetMap, aborted: AbortedIndex) {
        self.plan = plan
        self.map = map
        self.aborted = aborted
    }

    /// Writes the group's survivors to `.cleaned` files and syncs them. Returns false (and leaves
    /// no files) when the group is a single segment that compaction would not change.
    mutating func write(_ group: [CleaningPlan.Segment], shouldStop: () -> Bool) throws -> Bool {
        let base = group[0].baseOffset
        SegmentSwap.discard(directory: plan.directory, groups: [CleanedLog.Group(baseOffset: base, replaced: [])])
        let output = try LogSegment(directory: plan.directory, baseOffset: base, indexIntervalBytes: plan.indexIntervalBytes,
                                    recover: false, allocator: allocator, extraSuffix: SegmentSwap.cleanedSuffix)
        var changed = group.count > 1
        var pending = allocator.buffer(capacity: 1 << 20)
        var entries: [(position: Int, lastOffset: Int64, maxTimestamp: Int64, size: Int)] = []
        var pendingLast: Int64 = -1
        var pendingMaxTimestamp: Int64 = -1

        func flushPending() throws {
            guard pending.readableBytes > 0 else { return }
            try output.append(pending, lastOffset: pendingLast, maxTimestamp: pendingMaxTimestamp, nowMs: plan.nowMs, entries: entries)
            pending.clear()
            entries.removeAll(keepingCapacity: true)
            pendingMaxTimestamp = -1
        }

        for segment in group {
            var reader = SegmentBatchReader(file: segment.file, size: segment.size)
            while let (header, bytes) = try reader.next() {
                if shouldStop() { throw LogCleanerError.stopped }
                let kept = try filter(header, bytes)
                if kept.changed { changed = true }
                guard let batch = kept.batch else { continue }
                let written = try RecordBatchHeader(from: batch, at: batch.readerIndex)
                entries.append((pending.readableBytes, written.lastOffset, written.maxTimestamp, batch.readableBytes))
                pending.writeImmutableBuffer(batch)
                pendingLast = written.lastOffset
                pendingMaxTimestamp = max(pendingMaxTimestamp, written.maxTimestamp)
                if pending.readableBytes >= 1 << 20 { try flushPending() }
            }
        }
        try flushPending()
        guard changed else {
            output.delete()
            return false
        }
        try output.sync()
        return true
    }

    /// What becomes of one batch: the same bytes, a rebuilt batch, an emptied one, or nothing.
    private mutating func filter(_ header: RecordBatchHeader, _ bytes: ByteBuffer) throws -> (batch: ByteBuffer?, changed: Bool) {
        if header.isControl { return (bytes, false) }
        let retain = plan.retainedBatchOffsets.contains(header.baseOffset)
        if aborted.contains(header) {
            recordsRemoved += Int(header.recordCount)
            return (retain ? try CompactedBatch.empty(header) : nil, true)
        }
        // A batch that cannot be decoded is kept as it is rather than lost.
        guard let batch = try? RecordBatch(decoding: bytes, at: bytes.readerIndex), let records = try? batch.records() else {
            return (bytes, false)
        }
        var survivors: [Record] = []
        survivors.reserveCapacity(records.count)
        for record in records where keeps(record) { survivors.append(record) }
        recordsKept += survivors.count
        recordsRemoved += records.count - survivors.count
        if survivors.count == records.count { return (bytes, false) }
        if survivors.isEmpty { return (retain ? try CompactedBatch.empty(header) : nil, true) }
        return (try CompactedBatch.rebuild(header, keeping: survivors), true)
    }

    /// A record survives when it is its key's newest, and, for a tombstone, while its
    /// `delete.retention.ms` lasts.
    private mutating func keeps(_ record: Record) -> Bool {
        guard let key = record.key else { return false }
        if let latest = map.latestOffset(of: key), latest > record.offset { return false }
        if record.value == nil {
            let expiry = record.timestamp &+ plan.deleteRetentionMs
            if expiry <= plan.nowMs { return false }
            nextTombstoneExpiryMs = min(nextTombstoneExpiryMs ?? expiry, expiry)
        }
        return true
    }
}

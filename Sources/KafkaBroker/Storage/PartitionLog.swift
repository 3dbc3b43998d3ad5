import KafkaProtocol
import NIOCore

/// Why an append was refused, as the Kafka error code the producer will see.
struct AppendError: Error {
    var code: KafkaErrorCode
    var message: String
}

/// The outcome of appending a produce request's batches.
struct AppendResult {
    var baseOffset: Int64
    var lastOffset: Int64
    /// -1 unless the topic uses LogAppendTime.
    var logAppendTime: Int64
    /// Whether the append started a new segment (which may make a compacted log due for cleaning).
    var rolledSegment = false
}

/// A batch located in the incoming records of a produce request, after validation.
struct IncomingBatch {
    var position: Int
    var header: RecordBatchHeader
}

/// The on-disk log of one partition: a list of segments, the newest one active.
///
/// Offsets are assigned here; producer sequence checks and transaction state sit in front
/// of it in `PartitionState`. Not thread-safe: `PartitionState` serialises access.
final class PartitionLog {
    let directory: String
    private(set) var config: LogConfig
    private(set) var segments: [LogSegment] = []
    /// The first offset a consumer can read; raised by retention and DeleteRecords.
    private(set) var logStartOffset: Int64 = 0
    private let allocator: ByteBufferAllocator
    /// Batches appended since the last fsync (the `flush.messages` / `flush.ms` policy counts them).
    private(set) var unflushedBatches = 0
    private var lastFlushMs: Int64
    /// Compaction: offsets below this have been cleaned, so their keys are unique among themselves.
    private(set) var firstDirtyOffset: Int64
    private let cleanerCheckpoint: OffsetCheckpointFile
    /// Compaction: when the earliest tombstone kept by the last pass may go.
    private var nextTombstoneExpiryMs: Int64?

    var logEndOffset: Int64 { segments.last?.nextOffset ?? logStartOffset }
    var sizeInBytes: Int { segments.reduce(0) { $0 + $1.size } }

    init(directory: String, config: LogConfig, recover: Bool, nowMs: Int64, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws {
        self.directory = directory
        self.config = config
        self.allocator = allocator
        self.lastFlushMs = nowMs
        try POSIXFile.makeDirectory(directory)
        // A compaction pass that committed its swap before a crash is finished; one that did not is dropped.
        try SegmentSwap.recover(directory: directory)
        let checkpoint = OffsetCheckpointFile(path: directory + "/cleaner-checkpoint")
        self.cleanerCheckpoint = checkpoint
        self.firstDirtyOffset = checkpoint.read() ?? 0
        let bases = try POSIXFile.listDirectory(directory).compactMap { name -> Int64? in
            guard name.hasSuffix(".log") else { return nil }
            return Int64(name.dropLast(4))
        }.sorted()
        for (i, base) in bases.enumerated() {
            // Only the newest segment can have a torn tail; older ones were closed by a roll.
            let isLast = i == bases.count - 1
            segments.append(try LogSegment(directory: directory, baseOffset: base, indexIntervalBytes: config.indexIntervalBytes, recover: recover && isLast, allocator: allocator))
        }
        logStartOffset = OffsetCheckpointFile(path: directory + "/log-start-offset").read() ?? (segments.first?.baseOffset ?? 0)
        if segments.isEmpty {
            segments.append(try LogSegment(directory: directory, baseOffset: logStartOffset, indexIntervalBytes: config.indexIntervalBytes, recover: false, allocator: allocator))
        }
        logStartOffset = max(logStartOffset, segments.first!.baseOffset)
    }

    func updateConfig(_ config: LogConfig) { self.config = config }

    // MARK: Validation and append

    /// Splits a produce request's records into batches, checking each one's framing, CRC and size.
    func validate(_ records: ByteBuffer) throws(AppendError) -> [IncomingBatch] {
        var batches: [IncomingBatch] = []
        var position = 0
        let total = records.readableBytes
        guard total > 0 else { throw AppendError(code: .corruptMessage, message: "empty record set") }
        while position < total {
            let header: RecordBatchHeader
            do {
                header = try RecordBatchHeader(from: records, at: records.readerIndex + position)
            } catch {
                if case KafkaProtocolError.unsupportedMagic = error {
                    throw AppendError(code: .unsupportedForMessageFormat, message: "only record batch format v2 is accepted")
                }
                throw AppendError(code: .corruptMessage, message: "\(error)")
            }
            let size = header.totalSize
            guard size >= RecordBatchHeader.size, position + size <= total else {
                throw AppendError(code: .corruptMessage, message: "batch length \(size) runs past the request")
            }
            guard size <= config.maxMessageBytes else {
                throw AppendError(code: .messageTooLarge, message: "batch of \(size) bytes exceeds max.message.bytes \(config.maxMessageBytes)")
            }
            let slice = records.getSlice(at: records.readerIndex + position, length: size)!
            guard (try? RecordBatchHeader.verifyCRC(in: slice, at: slice.readerIndex)) != nil else {
                throw AppendError(code: .corruptMessage, message: "record batch CRC mismatch")
            }
            guard header.recordCount >= 0, header.lastOffsetDelta >= 0 else {
                throw AppendError(code: .invalidRecord, message: "negative record count or offset delta")
            }
            if config.cleanupPolicy != .delete && !header.isControl { try Self.requireKeys(slice) }
            batches.append(IncomingBatch(position: position, header: header))
            position += size
        }
        return batches
    }

    /// Compaction keeps the newest record per key, so a compacted topic refuses records without one.
    private static func requireKeys(_ batchBytes: ByteBuffer) throws(AppendError) {
        do {
            let batch = try RecordBatch(decoding: batchBytes, at: batchBytes.readerIndex, options: RecordDecodingOptions(verifyChecksums: false))
            var records = batch.makeRecordIterator()
            while let record = try records.next() {
                guard record.key != nil else {
                    throw AppendError(code: .invalidRecord, message: "compacted topic cannot accept a record without a key (offset delta \(record.offsetDelta))")
                }
            }
        } catch let error as AppendError {
            throw error
        } catch {
            throw AppendError(code: .corruptMessage, message: "\(error)")
        }
    }

    /// Assigns offsets to validated batches and writes them. For LogAppendTime topics the
    /// broker's time replaces the batch timestamp, which changes the CRC, so it is recomputed.
    func append(_ records: ByteBuffer, batches: [IncomingBatch], nowMs: Int64) throws -> AppendResult {
        var records = records
        var next = logEndOffset
        let baseOffset = next
        var maxTimestamp: Int64 = -1
        var entries: [(position: Int, lastOffset: Int64, maxTimestamp: Int64, size: Int)] = []
        entries.reserveCapacity(batches.count)
        for batch in batches {
            let at = records.readerIndex + batch.position
            try RecordBatchHeader.setBaseOffset(next, in: &records, at: at)
            var batchMax = batch.header.maxTimestamp
            if config.timestampType == .logAppendTime {
                try RecordBatchHeader.setLogAppendTime(nowMs, in: &records, at: at)
                batchMax = nowMs
            }
            let last = next + Int64(batch.header.lastOffsetDelta)
            entries.append((batch.position, last, batchMax, batch.header.totalSize))
            maxTimestamp = max(maxTimestamp, batchMax)
            next = last + 1
        }
        let rolled = try rollIfNeeded(incomingBytes: records.readableBytes, nowMs: nowMs)
        try segments.last!.append(records, lastOffset: next - 1, maxTimestamp: maxTimestamp, nowMs: nowMs, entries: entries)
        unflushedBatches += batches.count
        if unflushedBatches >= config.flushMessages { try flush(nowMs: nowMs) }
        return AppendResult(baseOffset: baseOffset, lastOffset: next - 1, logAppendTime: config.timestampType == .logAppendTime ? nowMs : -1,
                            rolledSegment: rolled)
    }

    /// Starts a new segment when the active one is full or old; returns whether it did.
    private func rollIfNeeded(incomingBytes: Int, nowMs: Int64) throws -> Bool {
        let active = segments.last!
        let full = active.size > 0 && active.size + incomingBytes > config.segmentBytes
        let old = active.firstAppendMs.map { nowMs - $0 >= config.segmentMs } ?? false
        guard full || old else { return false }
        try active.sync()
        segments.append(try LogSegment(directory: directory, baseOffset: logEndOffset, indexIntervalBytes: config.indexIntervalBytes, recover: false, allocator: allocator))
        return true
    }

    /// Syncs when `flush.ms` has passed since the last sync, or unconditionally with `force`.
    func flush(nowMs: Int64, force: Bool = true) throws {
        guard force || (unflushedBatches > 0 && nowMs - lastFlushMs >= config.flushMs) else { return }
        try segments.last?.sync()
        unflushedBatches = 0
        lastFlushMs = nowMs
    }

    // MARK: Reads

    /// Whole batches from `offset`, up to `maxBytes`, none at or past `endOffset`.
    func read(from offset: Int64, endOffset: Int64, maxBytes: Int) throws -> ByteBuffer? {
        guard let index = segments.lastIndex(where: { $0.baseOffset <= offset }) else {
            return try segments.first?.read(from: offset, endOffset: endOffset, maxBytes: maxBytes)
        }
        for segment in segments[index...] {
            if let chunk = try segment.read(from: offset, endOffset: endOffset, maxBytes: maxBytes) { return chunk }
        }
        return nil
    }

    /// The first readable record whose timestamp is at or after `timestamp`, and that
    /// record's timestamp (ListOffsets by time).
    func firstRecord(atOrAfter timestamp: Int64) throws -> (offset: Int64, timestamp: Int64)? {
        for segment in segments where segment.maxTimestamp >= timestamp && segment.nextOffset > logStartOffset {
            if let found = try segment.firstRecord(atOrAfter: timestamp, minOffset: logStartOffset) { return found }
        }
        return nil
    }

    /// The largest timestamp in the log and an offset holding it (ListOffsets with MAX_TIMESTAMP).
    var maxTimestamp: Int64 { segments.map(\.maxTimestamp).max() ?? -1 }

    // MARK: Compaction

    /// How many leading segments compaction may rewrite: closed ones lying wholly below
    /// `firstUnstableOffset` (the first offset of an open transaction, if any).
    private func cleanableSegmentCount(firstUnstableOffset: Int64?) -> Int {
        var count = 0
        while count < segments.count - 1 {
            let end = segments[count + 1].baseOffset
            if let firstUnstableOffset, end > firstUnstableOffset { break }
            count += 1
        }
        return count
    }

    /// Whether a compaction pass is due: the topic is compacted and either the dirty share of the
    /// cleanable bytes reached `min.cleanable.dirty.ratio`, or a kept tombstone has expired.
    func cleaningDue(firstUnstableOffset: Int64?, nowMs: Int64) -> Bool {
        guard config.cleanupPolicy != .delete else { return false }
        let count = cleanableSegmentCount(firstUnstableOffset: firstUnstableOffset)
        guard count > 0 else { return false }
        var total = 0, dirty = 0
        for index in 0..<count {
            let segment = segments[index]
            total += segment.size
            if segments[index + 1].baseOffset > firstDirtyOffset { dirty += segment.size }
        }
        if dirty > 0 && Double(dirty) >= config.minCleanableDirtyRatio * Double(total) { return true }
        return nextTombstoneExpiryMs.map { $0 <= nowMs } ?? false
    }

    /// What a compaction pass needs, with descriptors of its own on the cleanable segments;
    /// nil when the pass is not due (unless `force`) or there is nothing to clean.
    func makeCleaningPlan(firstUnstableOffset: Int64?, aborted: [AbortedTransaction], retainedBatchOffsets: Set<Int64>,
                          nowMs: Int64, maxKeys: Int, force: Bool) throws -> CleaningPlan? {
        guard config.cleanupPolicy != .delete else { return nil }
        guard force || cleaningDue(firstUnstableOffset: firstUnstableOffset, nowMs: nowMs) else { return nil }
        let count = cleanableSegmentCount(firstUnstableOffset: firstUnstableOffset)
        guard count > 0 else { return nil }
        var planned: [CleaningPlan.Segment] = []
        for index in 0..<count {
            let segment = segments[index]
            planned.append(CleaningPlan.Segment(baseOffset: segment.baseOffset, endOffset: segments[index + 1].baseOffset,
                                                size: segment.size, file: try segment.openForReading()))
        }
        return CleaningPlan(directory: directory, segments: planned, firstDirtyOffset: firstDirtyOffset, aborted: aborted,
                            retainedBatchOffsets: retainedBatchOffsets, deleteRetentionMs: config.deleteRetentionMs,
                            segmentBytes: config.segmentBytes, indexIntervalBytes: config.indexIntervalBytes,
                            nowMs: nowMs, maxKeys: maxKeys)
    }

    /// Swaps a pass's cleaned segments in. When the log changed under the pass (retention or
    /// DeleteRecords removed a planned segment) the output is discarded and false returned.
    func completeCleaning(_ plan: CleaningPlan, _ cleaned: CleanedLog) throws -> Bool {
        let unchanged = segments.count > plan.segments.count
            && zip(segments, plan.segments).allSatisfy { $0.baseOffset == $1.baseOffset && $0.size == $1.size }
        guard unchanged else {
            SegmentSwap.discard(directory: directory, groups: cleaned.groups)
            return false
        }
        if !cleaned.groups.isEmpty {
            try SegmentSwap.commit(directory: directory, groups: cleaned.groups)
            try SegmentSwap.apply(directory: directory)
            let replacedBy = Dictionary(uniqueKeysWithValues: cleaned.groups.flatMap { group in group.replaced.map { ($0, group.baseOffset) } })
            var rebuilt: [LogSegment] = []
            rebuilt.reserveCapacity(segments.count)
            for segment in segments {
                guard let base = replacedBy[segment.baseOffset] else {
                    rebuilt.append(segment)
                    continue
                }
                // The first segment of a group is reopened on its cleaned files; the others are gone.
                if base == segment.baseOffset {
                    rebuilt.append(try LogSegment(directory: directory, baseOffset: base, indexIntervalBytes: config.indexIntervalBytes,
                                                  recover: false, allocator: allocator))
                }
            }
            segments = rebuilt
        }
        if cleaned.cleanedThrough != firstDirtyOffset {
            firstDirtyOffset = cleaned.cleanedThrough
            try cleanerCheckpoint.write(firstDirtyOffset)
        }
        nextTombstoneExpiryMs = cleaned.nextTombstoneExpiryMs
        return true
    }

    // MARK: Deletion

    /// DeleteRecords: raises the log start offset and drops segments wholly below it.
    func deleteRecords(before offset: Int64) throws -> Int64 {
        let target = min(offset, logEndOffset)
        if target > logStartOffset {
            logStartOffset = target
            try writeLogStartOffset()
            try dropSegments { $0.nextOffset <= target }
        }
        return logStartOffset
    }

    /// Applies retention.ms and retention.bytes to closed segments.
    func applyRetention(nowMs: Int64) throws {
        guard config.cleanupPolicy != .compact else { return }
        if config.retentionMs >= 0 {
            try dropSegments { $0.maxTimestamp >= 0 && nowMs - $0.maxTimestamp > config.retentionMs }
        }
        if config.retentionBytes >= 0 {
            var excess = sizeInBytes - Int(config.retentionBytes)
            try dropSegments { segment in
                guard excess >= segment.size else { return false }
                excess -= segment.size
                return true
            }
        }
    }

    /// Deletes leading closed segments while `shouldDrop` holds; the active segment always stays.
    private func dropSegments(while shouldDrop: (LogSegment) -> Bool) throws {
        var dropped = false
        while segments.count > 1, shouldDrop(segments[0]) {
            segments.removeFirst().delete()
            dropped = true
        }
        if dropped, segments[0].baseOffset > logStartOffset {
            logStartOffset = segments[0].baseOffset
            try writeLogStartOffset()
        }
    }

    /// Removes the whole log from disk (DeleteTopics).
    func deleteAll() throws {
        segments.removeAll()
        try POSIXFile.removeDirectory(directory)
    }

    // MARK: Log start offset checkpoint

    private func writeLogStartOffset() throws {
        try OffsetCheckpointFile(path: directory + "/log-start-offset").write(logStartOffset)
    }
}

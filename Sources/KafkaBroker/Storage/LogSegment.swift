import KafkaProtocol
import NIOCore

/// One segment of a partition log: a file of record batches starting at `baseOffset`,
/// with a sparse offset index and a time index beside it.
///
/// Files are named by base offset, zero-padded to 20 digits, as Kafka names them, so
/// segments sort by name. Not thread-safe: the owning `PartitionLog` serialises access.
final class LogSegment {
    let baseOffset: Int64
    /// The log file.
    let path: String
    /// The index, time index and log files, in that order.
    let filePaths: [String]
    private let log: POSIXFile
    private var offsetIndex: SparseIndex
    private var timeIndex: SparseIndex
    private let indexIntervalBytes: Int
    private let allocator: ByteBufferAllocator

    /// Bytes in the log file.
    private(set) var size = 0
    /// One past the last offset stored.
    private(set) var nextOffset: Int64
    /// The largest record timestamp stored, or -1 when empty.
    private(set) var maxTimestamp: Int64 = -1
    /// Wall-clock time of the first append, for rolling by `segment.ms`.
    private(set) var firstAppendMs: Int64?
    private var bytesSinceIndexEntry = 0

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// The suffixes of a segment's three files, the log last: a segment whose log file exists is
    /// complete enough to open (missing or stale indexes are rebuilt).
    static let fileSuffixes = [".index", ".timeindex", ".log"]

    /// The paths of a segment's files, with `extra` appended (".cleaned" for a cleaner's output).
    static func filePaths(directory: String, baseOffset: Int64, extra: String = "") -> [String] {
        fileSuffixes.map { directory + "/" + fileName(baseOffset, $0) + extra }
    }

    /// Opens or creates the segment's files. An existing segment is scanned to find its end;
    /// with `recover`, every batch's CRC is checked and a torn or corrupt tail is cut off.
    /// `extraSuffix` names a segment being written beside the live one (the log cleaner's output).
    init(directory: String, baseOffset: Int64, indexIntervalBytes: Int, recover: Bool, allocator: ByteBufferAllocator, extraSuffix: String = "") throws {
        self.baseOffset = baseOffset
        let paths = Self.filePaths(directory: directory, baseOffset: baseOffset, extra: extraSuffix)
        self.filePaths = paths
        self.path = paths[2]
        self.log = try POSIXFile(path: path, create: true)
        self.offsetIndex = SparseIndex(file: try POSIXFile(path: paths[0], create: true), keyWidth: 4)
        self.timeIndex = SparseIndex(file: try POSIXFile(path: paths[1], create: true), keyWidth: 8)
        self.indexIntervalBytes = indexIntervalBytes
        self.allocator = allocator
        self.nextOffset = baseOffset
        try open(recover: recover)
    }

    private func open(recover: Bool) throws {
        let fileSize = try log.size()
        var scanFrom = 0
        if !recover, try offsetIndex.load(allocator: allocator), try timeIndex.load(allocator: allocator),
           let last = offsetIndex.entries.last, Int(last.value) <= fileSize {
            scanFrom = Int(last.value)
            maxTimestamp = timeIndex.entries.last?.key ?? -1
        } else {
            try offsetIndex.reset()
            try timeIndex.reset()
        }
        // Walk the batches from the last indexed one (or the start) to learn where the segment ends.
        var position = scanFrom
        bytesSinceIndexEntry = 0
        let rebuild = scanFrom == 0
        while position < fileSize {
            guard let header = try readHeader(at: position, fileSize: fileSize) else { break }
            let length = header.totalSize
            if recover {
                let batch = try log.read(at: position, length: length, allocator: allocator)
                guard batch.readableBytes == length, (try? RecordBatchHeader.verifyCRC(in: batch, at: batch.readerIndex)) != nil else { break }
            }
            if rebuild { try index(position: position, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp, size: length) }
            maxTimestamp = max(maxTimestamp, header.maxTimestamp)
            nextOffset = header.lastOffset + 1
            position += length
        }
        if position < fileSize {
            // A torn write or corruption after the last good batch: Kafka's recovery truncates here.
            try log.truncate(to: position)
            try offsetIndex.truncate(whereValueAtLeast: UInt32(position))
        }
        size = position
    }

    private struct StoredHeader {
        var baseOffset: Int64
        var lastOffset: Int64
        var maxTimestamp: Int64
        var totalSize: Int
    }

    /// Reads the fixed header of the batch at `position`, or nil when what is there is not a whole batch header.
    private func readHeader(at position: Int, fileSize: Int) throws -> StoredHeader? {
        guard fileSize - position >= RecordBatchHeader.size else { return nil }
        let bytes = try log.read(at: position, length: RecordBatchHeader.size, allocator: allocator)
        guard let header = try? RecordBatchHeader(from: bytes, at: bytes.readerIndex) else { return nil }
        let total = header.totalSize
        guard total >= RecordBatchHeader.size, position + total <= fileSize else { return nil }
        return StoredHeader(baseOffset: header.baseOffset, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp, totalSize: total)
    }

    private func index(position: Int, lastOffset: Int64, maxTimestamp batchMaxTimestamp: Int64, size batchSize: Int) throws {
        if bytesSinceIndexEntry == 0 || bytesSinceIndexEntry >= indexIntervalBytes {
            try offsetIndex.append(key: lastOffset - baseOffset, value: UInt32(position))
            if batchMaxTimestamp > (timeIndex.entries.last?.key ?? Int64.min) {
                try timeIndex.append(key: batchMaxTimestamp, value: UInt32(truncatingIfNeeded: lastOffset - baseOffset))
            }
            bytesSinceIndexEntry = 0
        }
        bytesSinceIndexEntry += batchSize
    }

    /// Appends batches whose offsets have been assigned. `lastOffset` and `maxTimestamp` describe all of them.
    func append(_ batches: ByteBuffer, lastOffset: Int64, maxTimestamp batchMaxTimestamp: Int64, nowMs: Int64, entries: [(position: Int, lastOffset: Int64, maxTimestamp: Int64, size: Int)]) throws {
        try log.write(batches, at: size)
        for entry in entries {
            try index(position: size + entry.position, lastOffset: entry.lastOffset, maxTimestamp: entry.maxTimestamp, size: entry.size)
        }
        if firstAppendMs == nil { firstAppendMs = nowMs }
        size += batches.readableBytes
        nextOffset = lastOffset + 1
        maxTimestamp = max(maxTimestamp, batchMaxTimestamp)
    }

    /// Whole batches starting with the one that holds `offset`, stopping before `endOffset`
    /// and after `maxBytes` (though always at least one batch, so a consumer can make progress
    /// on a batch larger than its fetch size).
    func read(from offset: Int64, endOffset: Int64, maxBytes: Int) throws -> ByteBuffer? {
        guard offset < nextOffset, offset < endOffset else { return nil }
        var position = Int(offsetIndex.floor(offset - baseOffset).map { $0.value } ?? 0)
        // The index entry names a batch that ends at or before the target: scan forward.
        while position < size {
            guard let header = try readHeader(at: position, fileSize: size) else { return nil }
            if header.lastOffset >= offset { break }
            position += header.totalSize
        }
        guard position < size else { return nil }
        let want = min(max(maxBytes, RecordBatchHeader.size), size - position)
        var chunk = try log.read(at: position, length: want, allocator: allocator)
        var end = 0
        while end + RecordBatchHeader.size <= chunk.readableBytes,
              let header = try? RecordBatchHeader(from: chunk, at: chunk.readerIndex + end) {
            guard header.baseOffset < endOffset else { break }
            if end + header.totalSize > chunk.readableBytes {
                if end > 0 { break }
                // The first batch is larger than maxBytes: return it whole.
                chunk = try log.read(at: position, length: header.totalSize, allocator: allocator)
            }
            end += header.totalSize
        }
        guard end > 0 else { return nil }
        return chunk.getSlice(at: chunk.readerIndex, length: end)
    }

    /// The first record at or after `minOffset` whose timestamp is at or after `timestamp`,
    /// with that timestamp; nil when the segment holds none.
    ///
    /// The time index and the batch headers find the first batch whose max timestamp reaches the
    /// target; that batch is then decoded, because its max timestamp does not say which of its
    /// records reached the target first.
    func firstRecord(atOrAfter timestamp: Int64, minOffset: Int64) throws -> (offset: Int64, timestamp: Int64)? {
        guard maxTimestamp >= timestamp, minOffset < nextOffset else { return nil }
        // Start from the last indexed batch that ends before the target time (or at `minOffset`).
        var startKey = max(0, minOffset - baseOffset)
        if let entry = timeIndex.floor(timestamp &- 1) { startKey = max(startKey, Int64(entry.value)) }
        var position = Int(offsetIndex.floor(startKey).map { $0.value } ?? 0)
        while position < size {
            guard let header = try readHeader(at: position, fileSize: size) else { return nil }
            defer { position += header.totalSize }
            guard header.lastOffset >= minOffset, header.maxTimestamp >= timestamp else { continue }
            let bytes = try log.read(at: position, length: header.totalSize, allocator: allocator)
            do {
                let batch = try RecordBatch(decoding: bytes, at: bytes.readerIndex)
                var records = batch.makeRecordIterator()
                while let record = try records.next() {
                    if record.offset >= minOffset && record.timestamp >= timestamp { return (record.offset, record.timestamp) }
                }
                // An emptied (compacted) batch, or its matching records lie before the log start: go on.
            } catch {
                // A batch whose records cannot be decoded still answers at batch granularity.
                return (max(header.baseOffset, minOffset), header.maxTimestamp)
            }
        }
        return nil
    }

    func sync() throws {
        try log.sync()
        try offsetIndex.sync()
        try timeIndex.sync()
    }

    /// Deletes the segment's files. Open descriptors (a cleaner reading it) stay readable.
    func delete() {
        for path in filePaths { POSIXFile.remove(path) }
    }

    /// A second descriptor on the log file, for reading the (closed) segment without its owner's lock.
    func openForReading() throws -> POSIXFile {
        try POSIXFile(path: path, create: false)
    }
}

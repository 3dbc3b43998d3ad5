import NIOCore

/// Reads the `records` field of a Fetch response (or a Produce request): batches of
/// any magic, back to back, possibly ending in a partial batch.
///
/// A partial batch at the end is normal in fetch responses: the broker cuts the data at
/// the requested byte limit without regard to batch boundaries. It is reported through
/// `incompleteTailBytes`, not thrown (unless `options.allowsIncompleteTail` is false).
///
/// ```swift
/// var reader = RecordSetReader(partition.records)
/// while let entry = try reader.next() {
///     try entry.forEachRecord { record in print(record.offset, record.value?.readableBytes ?? 0) }
/// }
/// if reader.incompleteTailBytes > 0 { /* fetch again from the next offset */ }
/// ```
public struct RecordSetReader: Sendable {
    private var buffer: ByteBuffer
    public let options: RecordDecodingOptions
    /// The size of the partial batch found at the end, 0 when the data ended on a batch boundary.
    public private(set) var incompleteTailBytes = 0

    public init(_ records: ByteBuffer, options: RecordDecodingOptions = .default) {
        self.buffer = records
        self.options = options
    }

    /// Whether the data ended in a partial batch (known once `next()` has returned nil).
    public var hasIncompleteTail: Bool { self.incompleteTailBytes > 0 }

    /// The next batch or legacy message, or nil at the end of the data or at a partial batch.
    /// - Throws: `KafkaProtocolError` for a malformed entry; the reader then stays on it.
    public mutating func next() throws -> RecordSetEntry? {
        let index = self.buffer.readerIndex
        let available = self.buffer.readableBytes
        guard available > 0 else { return nil }
        // The size is at offset 8 and the magic at 16 in every format.
        guard available >= RecordBatchHeader.logOverhead else { return try self.incompleteTail() }
        let size = Int(self.buffer.getInteger(at: index + 8, endianness: .big, as: Int32.self)!)
        guard size >= LegacyMessage.minimumSize else {
            throw KafkaProtocolError.invalidLength(context: "record batch length", length: size)
        }
        guard available > RecordBatchHeader.Layout.magic else { return try self.incompleteTail() }
        let magic = self.buffer.getInteger(at: index + RecordBatchHeader.Layout.magic, as: Int8.self)!
        let minimum: Int
        switch magic {
        case 0, 1: minimum = LegacyMessage.minimumSize(magic: magic)
        case 2: minimum = Int(RecordBatchHeader.minimumBatchLength)
        default: throw KafkaProtocolError.unsupportedMagic(magic)
        }
        guard size >= minimum else { throw KafkaProtocolError.invalidLength(context: "record batch length", length: size) }
        guard size <= available - RecordBatchHeader.logOverhead else { return try self.incompleteTail() }

        let entry: RecordSetEntry
        if magic == 2 {
            entry = .batch(try RecordBatch(decoding: self.buffer, at: index, options: self.options))
        } else {
            entry = .legacy(try LegacyRecordBatch(decoding: self.buffer, at: index, options: self.options))
        }
        self.buffer.moveReaderIndex(forwardBy: RecordBatchHeader.logOverhead + size)
        return entry
    }

    private mutating func incompleteTail() throws -> RecordSetEntry? {
        let available = self.buffer.readableBytes
        guard self.options.allowsIncompleteTail else {
            let needed = available >= RecordBatchHeader.logOverhead
                ? RecordBatchHeader.logOverhead + Int(self.buffer.getInteger(at: self.buffer.readerIndex + 8, endianness: .big, as: Int32.self)!)
                : RecordBatchHeader.logOverhead
            throw KafkaProtocolError.truncated(context: "record batch", needed: needed, available: available)
        }
        self.incompleteTailBytes = available
        self.buffer.moveReaderIndex(forwardBy: available)
        return nil
    }

    /// Calls `body` with every record of every remaining entry.
    public mutating func forEachRecord(_ body: (Record) throws -> Void) throws {
        while let entry = try self.next() {
            try entry.forEachRecord(body)
        }
    }

    /// Every record of `records`, with the size of any partial batch at the end.
    public static func decodeAll(_ records: ByteBuffer, options: RecordDecodingOptions = .default) throws -> (records: [Record], incompleteTailBytes: Int) {
        var reader = RecordSetReader(records, options: options)
        var result: [Record] = []
        try reader.forEachRecord { result.append($0) }
        return (result, reader.incompleteTailBytes)
    }
}

import NIOCore

/// A decoded magic-2 record batch: its header and its record bytes, decompressed.
///
/// Decoding checks the header, the CRC and decompresses; records are parsed only when
/// visited (`forEachRecord`, `makeRecordIterator`, `records()`), so a consumer that
/// skips a batch (say, an aborted transaction's) pays nothing for its records.
public struct RecordBatch: Sendable {
    /// The fixed header, as stored.
    public let header: RecordBatchHeader
    /// The records, uncompressed, starting at the reader index. For an uncompressed batch
    /// this is a slice of the input buffer; otherwise the decompressor's output.
    public let recordBytes: ByteBuffer

    /// The smallest possible encoded record: a one-byte length, attributes, timestamp
    /// delta, offset delta, key length, value length and header count.
    static let minimumRecordSize = 7

    /// Decodes the batch at absolute index `index` of `buffer`; `buffer` is not modified.
    ///
    /// - Throws: `truncated` when the batch is not entirely present, `unsupportedMagic`,
    ///   `crcMismatch`, `unknownCompressionCodec`, `decompressionFailed`, `tooLarge`,
    ///   `invalidLength` / `invalidCount` for impossible header values.
    public init(decoding buffer: ByteBuffer, at index: Int, options: RecordDecodingOptions = .default) throws {
        let header = try RecordBatchHeader(from: buffer, at: index)
        let available = buffer.writerIndex - index
        guard header.totalSize <= available else {
            throw KafkaProtocolError.truncated(context: "record batch", needed: header.totalSize, available: available)
        }
        if options.verifyChecksums {
            let layout = RecordBatchHeader.Layout.self
            let computed = try CRC32C.checksum(buffer, at: index + layout.attributes, length: header.totalSize - layout.attributes)
            guard computed == header.crc else { throw KafkaProtocolError.crcMismatch(expected: header.crc, actual: computed) }
        }
        let codec = try header.attributes.codec()
        let payload = buffer.getSlice(at: index + RecordBatchHeader.size, length: header.totalSize - RecordBatchHeader.size)!
        let records = try codec.decompress(payload, maxOutputBytes: options.maxDecompressedBytes)
        // Refuse counts the bytes cannot hold, so that nothing is reserved for them.
        guard Int(header.recordCount) <= records.readableBytes / Self.minimumRecordSize else {
            throw KafkaProtocolError.invalidCount(context: "record batch record count", count: Int(header.recordCount))
        }
        self.header = header
        self.recordBytes = records
    }

    /// Decodes the batch at the reader index of `buffer` and moves the reader index past it.
    public static func decode(from buffer: inout ByteBuffer, options: RecordDecodingOptions = .default) throws -> RecordBatch {
        let batch = try RecordBatch(decoding: buffer, at: buffer.readerIndex, options: options)
        buffer.moveReaderIndex(forwardBy: batch.header.totalSize)
        return batch
    }

    /// An iterator over the records, parsing each as it is reached.
    public func makeRecordIterator() -> RecordIterator {
        RecordIterator(bytes: self.recordBytes, header: self.header)
    }

    /// Calls `body` with each record in order, without collecting them.
    public func forEachRecord(_ body: (Record) throws -> Void) throws {
        var iterator = self.makeRecordIterator()
        try iterator.visitRemaining { record in try body(record) }
    }

    /// Hands each record in order to `body`, which owns it: a consumer moves its key and value
    /// out (``Record/takeContents()``) without copying the record first, as a borrowed record
    /// or one bound from an optional would be.
    public func consumeRecords(_ body: (consuming Record) throws -> Void) throws {
        var iterator = self.makeRecordIterator()
        try iterator.visitRemaining(body)
    }

    /// All records, in order.
    public func records() throws -> [Record] {
        var result: [Record] = []
        result.reserveCapacity(Int(self.header.recordCount))
        // Each record is moved into the array, not copied.
        var iterator = self.makeRecordIterator()
        try iterator.visitRemaining { record in result.append(record) }
        return result
    }

    /// The offset of the first record.
    public var baseOffset: Int64 { self.header.baseOffset }
    /// The offset of the last record (per the header: compaction may have removed that record).
    public var lastOffset: Int64 { self.header.lastOffset }
    /// Whether the batch holds control records (transaction markers).
    public var isControl: Bool { self.header.isControl }
    /// Whether the batch belongs to a transaction.
    public var isTransactional: Bool { self.header.isTransactional }
}

import NIOCore

/// Builds one magic-2 record batch: append records, then `build` the bytes with the
/// chosen codec, the header fields computed (lastOffsetDelta, maxTimestamp, length, CRC).
///
/// Records are encoded as they are appended, into one buffer; the first record's
/// timestamp becomes the batch's base timestamp, as in Kafka's own producers.
///
/// ```swift
/// var builder = RecordBatchBuilder(compression: .lz4, producerId: 7, producerEpoch: 0, baseSequence: 0)
/// try builder.append(timestamp: 1_700_000_000_000, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"))
/// let batch = try builder.build()
/// ```
public struct RecordBatchBuilder: Sendable {
    /// Written as the batch's base offset; producers send 0 and the partition leader assigns the real one.
    public var baseOffset: Int64
    /// The codec the records are compressed with.
    public var compression: CompressionCodec
    /// The idempotent or transactional producer's id; -1 for a plain producer.
    public var producerId: Int64
    /// The producer's epoch; -1 for a plain producer.
    public var producerEpoch: Int16
    /// The sequence number of the first record; -1 for a plain producer.
    public var baseSequence: Int32
    /// Marks the batch as part of a transaction.
    public var isTransactional: Bool
    /// Control batches hold markers, not data; see `RecordBatchBuilder.endTransactionMarker`.
    public var isControl: Bool
    /// Set by the partition leader; producers send -1.
    public var partitionLeaderEpoch: Int32
    /// With `.logAppendTime`, `logAppendTime` becomes the batch's max timestamp (what a broker writes).
    public var timestampType: TimestampType
    /// The broker's append time, used as max timestamp when `timestampType` is `.logAppendTime`.
    public var logAppendTime: Int64?

    /// The encoded records, uncompressed.
    private var body: ByteBuffer
    /// Records appended so far.
    public private(set) var recordCount: Int32 = 0
    private var baseTimestamp: Int64?
    private var maxTimestamp: Int64 = -1
    private var lastOffsetDelta: Int32 = -1

    /// - Parameter reservingCapacity: the expected uncompressed size of the records, reserved up front.
    public init(baseOffset: Int64 = 0, compression: CompressionCodec = .none,
                producerId: Int64 = RecordBatchHeader.noProducerId, producerEpoch: Int16 = -1,
                baseSequence: Int32 = RecordBatchHeader.noSequence, isTransactional: Bool = false,
                isControl: Bool = false, partitionLeaderEpoch: Int32 = -1,
                timestampType: TimestampType = .createTime, logAppendTime: Int64? = nil,
                reservingCapacity: Int = 1024) {
        self.baseOffset = baseOffset
        self.compression = compression
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.isTransactional = isTransactional
        self.isControl = isControl
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.timestampType = timestampType
        self.logAppendTime = logAppendTime
        self.body = ByteBufferAllocator().buffer(capacity: reservingCapacity)
    }

    /// The size of the records so far, before compression.
    public var uncompressedRecordBytes: Int { self.body.readableBytes }
    /// The batch's size if built now without compression (an upper bound for most codecs' benefit).
    public var estimatedSizeInBytes: Int { RecordBatchHeader.size + self.body.readableBytes }
    /// Whether no record has been appended.
    public var isEmpty: Bool { self.recordCount == 0 }

    /// Appends a record with the next offset delta.
    public mutating func append(timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []) throws {
        try self.append(offsetDelta: self.lastOffsetDelta &+ 1, timestamp: timestamp, key: key, value: value, headers: headers)
    }

    /// Appends a record with an explicit offset delta, which must exceed the previous one
    /// (gaps are allowed: compacted batches have them).
    public mutating func append(offsetDelta: Int32, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []) throws {
        try withOptionalReadableBytes(key) { key in
            try withOptionalReadableBytes(value) { value in
                try self.appendRaw(offsetDelta: offsetDelta, timestamp: timestamp, key: key, value: value, headers: headers)
            }
        }
    }

    /// Appends a record with the next offset delta, its key and value given as raw bytes
    /// (`nil` for null): for producers that keep many records' bytes in one buffer, so that no
    /// `ByteBuffer` per key or value is made to append them.
    public mutating func append(timestamp: Int64, keyBytes: UnsafeRawBufferPointer?, valueBytes: UnsafeRawBufferPointer?,
                                headers: [RecordHeader] = []) throws {
        try self.appendRaw(offsetDelta: self.lastOffsetDelta &+ 1, timestamp: timestamp, key: keyBytes, value: valueBytes, headers: headers)
    }

    private mutating func appendRaw(offsetDelta: Int32, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                                    headers: [RecordHeader]) throws {
        guard offsetDelta > self.lastOffsetDelta, self.recordCount < Int32.max else {
            throw KafkaProtocolError.invalidRecord("offset delta \(offsetDelta) does not follow \(self.lastOffsetDelta)")
        }
        let base = self.baseTimestamp ?? timestamp
        let timestampDelta = timestamp &- base
        let keyLength = key?.count ?? -1
        let valueLength = value?.count ?? -1
        var size = 1 + ByteBuffer.varlongSize(timestampDelta) + ByteBuffer.varlongSize(Int64(offsetDelta))
            + ByteBuffer.varlongSize(Int64(keyLength)) + Swift.max(keyLength, 0)
            + ByteBuffer.varlongSize(Int64(valueLength)) + Swift.max(valueLength, 0)
            + ByteBuffer.varlongSize(Int64(headers.count))
        for header in headers {
            let headerKeyLength = header.key.utf8.count
            let headerValueLength = header.value?.readableBytes ?? -1
            size += ByteBuffer.varlongSize(Int64(headerKeyLength)) + headerKeyLength
                + ByteBuffer.varlongSize(Int64(headerValueLength)) + Swift.max(headerValueLength, 0)
        }
        guard size <= Int(Int32.max) - RecordBatchHeader.size - self.body.readableBytes - 5 else {
            throw KafkaProtocolError.tooLarge(context: "record batch", size: size + self.body.readableBytes, limit: Int(Int32.max))
        }

        let total = ByteBuffer.varlongSize(Int64(size)) + size
        let written = self.body.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { raw in
            var position = 0
            writeRawVarlong(raw, &position, Int64(size))
            raw[position] = 0 // record attributes
            position += 1
            writeRawVarlong(raw, &position, timestampDelta)
            writeRawVarlong(raw, &position, Int64(offsetDelta))
            writeRawBytes(raw, &position, key)
            writeRawBytes(raw, &position, value)
            writeRawVarlong(raw, &position, Int64(headers.count))
            for header in headers {
                var headerKey = header.key
                headerKey.withUTF8 { utf8 in
                    writeRawVarlong(raw, &position, Int64(utf8.count))
                    if let base = utf8.baseAddress, utf8.count > 0 {
                        (raw.baseAddress! + position).copyMemory(from: base, byteCount: utf8.count)
                    }
                    position += utf8.count
                }
                writeRawBytes(raw, &position, header.value)
            }
            return position
        }
        // The sizes above were computed from the same fields; a difference is a bug here.
        assert(written == total, "record size \(written) != computed \(total)")

        self.baseTimestamp = base
        self.maxTimestamp = Swift.max(self.maxTimestamp, timestamp)
        self.lastOffsetDelta = offsetDelta
        self.recordCount += 1
    }

    /// The header as `build` writes it, before the length and CRC are known.
    private func header(batchLength: Int32) -> RecordBatchHeader {
        let attributes = RecordBatchAttributes(compression: self.compression, timestampType: self.timestampType,
                                               isTransactional: self.isTransactional, isControl: self.isControl)
        var maxTimestamp = self.maxTimestamp
        if self.timestampType == .logAppendTime, let logAppendTime = self.logAppendTime { maxTimestamp = logAppendTime }
        return RecordBatchHeader(
            baseOffset: self.baseOffset, batchLength: batchLength, partitionLeaderEpoch: self.partitionLeaderEpoch,
            crc: 0, attributes: attributes, lastOffsetDelta: Swift.max(self.lastOffsetDelta, 0),
            baseTimestamp: self.baseTimestamp ?? -1, maxTimestamp: maxTimestamp,
            producerId: self.producerId, producerEpoch: self.producerEpoch, baseSequence: self.baseSequence,
            recordCount: self.recordCount)
    }

    /// Appends the finished batch to `buffer`.
    public func build(into buffer: inout ByteBuffer) throws {
        let start = buffer.writerIndex
        let layout = RecordBatchHeader.Layout.self
        // Uncompressed output size is known exactly; compressed output is reserved by the codec.
        buffer.reserveCapacity(minimumWritableBytes: RecordBatchHeader.size + (self.compression == .none ? self.body.readableBytes : 0))
        self.header(batchLength: 0).write(to: &buffer)
        do {
            try self.compression.compress(self.body, appendingTo: &buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        let total = buffer.writerIndex - start
        guard total - RecordBatchHeader.logOverhead <= Int(Int32.max) else {
            buffer.moveWriterIndex(to: start)
            throw KafkaProtocolError.tooLarge(context: "record batch", size: total, limit: Int(Int32.max))
        }
        buffer.setInteger(Int32(total - RecordBatchHeader.logOverhead), at: start + layout.batchLength, endianness: .big)
        let crc = try CRC32C.checksum(buffer, at: start + layout.attributes, length: total - layout.attributes)
        buffer.setInteger(crc, at: start + layout.crc, endianness: .big)
    }

    /// The finished batch, in a buffer of its own.
    public func build() throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size + self.body.readableBytes)
        try self.build(into: &buffer)
        return buffer
    }

    /// A control batch holding one transaction marker, as a transaction coordinator
    /// has the partition leader write it when a transaction commits or aborts.
    public static func endTransactionMarker(_ marker: ControlRecord, baseOffset: Int64 = 0, timestamp: Int64,
                                            producerId: Int64, producerEpoch: Int16,
                                            partitionLeaderEpoch: Int32 = -1) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(baseOffset: baseOffset, producerId: producerId, producerEpoch: producerEpoch,
                                         isTransactional: true, isControl: true, partitionLeaderEpoch: partitionLeaderEpoch,
                                         reservingCapacity: 32)
        try builder.append(timestamp: timestamp, key: marker.encodedKey(), value: marker.encodedValue())
        return try builder.build()
    }
}

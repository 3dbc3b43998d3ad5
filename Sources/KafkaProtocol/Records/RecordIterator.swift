import NIOCore

/// Visits the records of one magic-2 batch one at a time, without building an array.
///
/// Obtained from `RecordBatch.makeRecordIterator()`. Each `next()` parses one record
/// straight from the (decompressed) batch bytes; keys, values and header values are
/// slices of those bytes, and a record without headers allocates nothing.
public struct RecordIterator: Sendable {
    @usableFromInline let bytes: ByteBuffer
    @usableFromInline var position: Int
    @usableFromInline var remaining: Int32
    @usableFromInline let declaredCount: Int32
    @usableFromInline let baseOffset: Int64
    @usableFromInline let baseTimestamp: Int64
    /// Set for `LogAppendTime` batches: every record gets the batch's `maxTimestamp`.
    @usableFromInline let logAppendTime: Int64?

    /// - Parameter bytes: the uncompressed records, starting at the reader index.
    init(bytes: ByteBuffer, header: RecordBatchHeader) {
        self.bytes = bytes
        self.position = 0
        self.remaining = header.recordCount
        self.declaredCount = header.recordCount
        self.baseOffset = header.baseOffset
        self.baseTimestamp = header.baseTimestamp
        self.logAppendTime = header.timestampType == .logAppendTime ? header.maxTimestamp : nil
    }

    /// The next record, or `nil` after the last one the header declares.
    /// - Throws: `KafkaProtocolError` when a record is malformed, when the bytes run out
    ///   before the declared count, or when bytes remain after it.
    public mutating func next() throws -> Record? {
        guard self.remaining > 0 else {
            guard self.position == self.bytes.readableBytes else {
                throw KafkaProtocolError.invalidRecord(
                    "\(self.bytes.readableBytes - self.position) bytes follow the last of the batch's \(self.declaredCount) records")
            }
            return nil
        }
        guard self.position < self.bytes.readableBytes else {
            throw KafkaProtocolError.invalidRecord(
                "the batch declares \(self.declaredCount) records but holds only \(self.declaredCount - self.remaining)")
        }
        let record = try self.bytes.withUnsafeReadableBytes { raw in try self.parseRecord(raw) }
        self.remaining -= 1
        return record
    }

    @inline(__always)
    private mutating func parseRecord(_ raw: UnsafeRawBufferPointer) throws -> Record {
        var position = self.position
        let length = try readRawVarint(raw, &position, raw.count, context: "record length")
        guard length >= 0 else { throw KafkaProtocolError.invalidLength(context: "record", length: Int(length)) }
        guard Int(length) <= raw.count - position else {
            throw KafkaProtocolError.truncated(context: "record", needed: Int(length), available: raw.count - position)
        }
        let end = position + Int(length)
        guard position < end else { throw truncatedField("record attributes", needed: 1, available: 0) }
        position += 1 // record attributes: unused by every Kafka version so far
        let timestampDelta = try readRawVarlong(raw, &position, end, context: "record timestamp delta")
        let offsetDelta = try readRawVarint(raw, &position, end, context: "record offset delta")
        let key = try self.readBytes(raw, &position, end, context: "record key")
        let value = try self.readBytes(raw, &position, end, context: "record value")
        let headerCount = try readRawVarint(raw, &position, end, context: "record header count")
        var headers: [RecordHeader] = []
        if headerCount != 0 {
            headers = try self.readHeaders(raw, &position, end, count: headerCount)
        }
        guard position == end else {
            throw KafkaProtocolError.invalidRecord("record length \(length) disagrees with its fields (\(end - position) bytes left)")
        }
        self.position = end
        return Record(
            offset: self.baseOffset &+ Int64(offsetDelta),
            offsetDelta: offsetDelta,
            timestamp: self.logAppendTime ?? (self.baseTimestamp &+ timestampDelta),
            key: key,
            value: value,
            headers: headers
        )
    }

    /// A nullable byte field: varint length (-1 for null), then the bytes, as a slice.
    @inline(__always)
    private func readBytes(_ raw: UnsafeRawBufferPointer, _ position: inout Int, _ end: Int, context: StaticString) throws -> ByteBuffer? {
        let length = try readRawVarint(raw, &position, end, context: context)
        guard length >= 0 else {
            guard length == -1 else { throw KafkaProtocolError.invalidLength(context: "\(context)", length: Int(length)) }
            return nil
        }
        guard Int(length) <= end - position else { throw truncatedField(context, needed: Int(length), available: end - position) }
        let slice = self.bytes.getSlice(at: self.bytes.readerIndex + position, length: Int(length))
        position += Int(length)
        return slice
    }

    @inline(never)
    private func readHeaders(_ raw: UnsafeRawBufferPointer, _ position: inout Int, _ end: Int, count: Int32) throws -> [RecordHeader] {
        // Each header takes at least two bytes (two one-byte lengths), which bounds the reservation.
        guard count > 0, Int(count) <= (end - position) / 2 else {
            throw KafkaProtocolError.invalidCount(context: "record headers", count: Int(count))
        }
        var headers: [RecordHeader] = []
        headers.reserveCapacity(Int(count))
        for _ in 0..<count {
            let keyLength = try readRawVarint(raw, &position, end, context: "record header key length")
            guard keyLength >= 0 else { throw KafkaProtocolError.invalidLength(context: "record header key", length: Int(keyLength)) }
            guard Int(keyLength) <= end - position else {
                throw truncatedField("record header key", needed: Int(keyLength), available: end - position)
            }
            let keyBytes = UnsafeRawBufferPointer(rebasing: raw[position..<(position + Int(keyLength))])
            guard let key = String(validating: keyBytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw KafkaProtocolError.invalidUTF8(context: "record header key")
            }
            position += Int(keyLength)
            let value = try self.readBytes(raw, &position, end, context: "record header value")
            headers.append(RecordHeader(key: key, value: value))
        }
        return headers
    }
}

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
        // Only plain values leave the pointer closure: returning the record itself from it
        // would copy it (retaining its slices again) on the way out.
        let start = self.position
        let fields = try self.bytes.withUnsafeReadableBytes { raw in try Self.parseFields(raw, at: start) }
        var headers: [RecordHeader] = []
        if fields.headerCount != 0 {
            headers = try self.bytes.withUnsafeReadableBytes { raw in
                try self.readHeaders(raw, from: fields.headersStart, to: fields.end, count: fields.headerCount)
            }
        }
        self.position = fields.end
        self.remaining -= 1
        return self.makeRecord(fields, headers: headers)
    }

    /// Hands every remaining record to `body`, which owns it: the hot path behind
    /// `RecordBatch.forEachRecord` and `records()`. One pointer access covers the whole
    /// batch, and each record is built straight into the call, so it is never copied.
    mutating func visitRemaining(_ body: (consuming Record) throws -> Void) throws {
        let declaredCount = self.declaredCount
        var remaining = self.remaining
        var position = self.position
        defer {
            self.position = position
            self.remaining = remaining
        }
        try self.bytes.withUnsafeReadableBytes { raw in
            while remaining > 0 {
                guard position < raw.count else {
                    throw KafkaProtocolError.invalidRecord(
                        "the batch declares \(declaredCount) records but holds only \(declaredCount - remaining)")
                }
                let fields = try Self.parseFields(raw, at: position)
                var headers: [RecordHeader] = []
                if fields.headerCount != 0 {
                    headers = try self.readHeaders(raw, from: fields.headersStart, to: fields.end, count: fields.headerCount)
                }
                position = fields.end
                remaining -= 1
                try body(self.makeRecord(fields, headers: headers))
            }
            guard position == raw.count else {
                throw KafkaProtocolError.invalidRecord(
                    "\(raw.count - position) bytes follow the last of the batch's \(declaredCount) records")
            }
        }
    }

    /// Builds the record from its parsed fields. Kept separate so that the optimiser
    /// constructs it directly in the caller's return slot rather than copying it there.
    @inline(__always)
    private func makeRecord(_ fields: Fields, headers: __owned [RecordHeader]) -> Record {
        let base = self.bytes.readerIndex
        let offset = self.baseOffset &+ Int64(fields.offsetDelta)
        let timestamp = self.logAppendTime ?? (self.baseTimestamp &+ fields.timestampDelta)
        guard headers.isEmpty else {
            return Record(offset: offset, offsetDelta: fields.offsetDelta, timestamp: timestamp,
                          key: fields.keyLength >= 0 ? self.bytes.getSlice(at: base + fields.keyStart, length: Int(fields.keyLength)) : nil,
                          value: fields.valueLength >= 0 ? self.bytes.getSlice(at: base + fields.valueStart, length: Int(fields.valueLength)) : nil,
                          headers: headers)
        }
        let layout = Record.EncodedLayout(keyIndex: UInt32(truncatingIfNeeded: base + fields.keyStart), keyLength: fields.keyLength,
                                          valueIndex: UInt32(truncatingIfNeeded: base + fields.valueStart), valueLength: fields.valueLength)
        return Record(offset: offset, offsetDelta: fields.offsetDelta, timestamp: timestamp, bytes: self.bytes, layout: layout)
    }

    /// Where one record's fields are, relative to the reader index of `bytes`.
    @usableFromInline
    struct Fields {
        var end: Int
        var timestampDelta: Int64
        var offsetDelta: Int32
        var keyStart: Int
        var keyLength: Int32
        var valueStart: Int
        var valueLength: Int32
        var headersStart: Int
        var headerCount: Int32
    }

    @inline(__always)
    private static func parseFields(_ raw: UnsafeRawBufferPointer, at start: Int) throws -> Fields {
        var position = start
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
        let keyLength = try skipBytes(raw, &position, end, context: "record key")
        let keyStart = position - Int(Swift.max(keyLength, 0))
        let valueLength = try skipBytes(raw, &position, end, context: "record value")
        let valueStart = position - Int(Swift.max(valueLength, 0))
        let headerCount = try readRawVarint(raw, &position, end, context: "record header count")
        if headerCount == 0 && position != end {
            throw KafkaProtocolError.invalidRecord("record length \(length) disagrees with its fields (\(end - position) bytes left)")
        }
        return Fields(end: end, timestampDelta: timestampDelta, offsetDelta: offsetDelta, keyStart: keyStart, keyLength: keyLength,
                      valueStart: valueStart, valueLength: valueLength, headersStart: position, headerCount: headerCount)
    }

    /// Steps over a nullable byte field (varint length, -1 for null, then the bytes) and returns its length.
    @inline(__always)
    private static func skipBytes(_ raw: UnsafeRawBufferPointer, _ position: inout Int, _ end: Int, context: StaticString) throws -> Int32 {
        let length = try readRawVarint(raw, &position, end, context: context)
        guard length >= 0 else {
            guard length == -1 else { throw KafkaProtocolError.invalidLength(context: "\(context)", length: Int(length)) }
            return -1
        }
        guard Int(length) <= end - position else { throw truncatedField(context, needed: Int(length), available: end - position) }
        position += Int(length)
        return length
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
    private func readHeaders(_ raw: UnsafeRawBufferPointer, from start: Int, to end: Int, count: Int32) throws -> [RecordHeader] {
        var position = start
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
        guard position == end else {
            throw KafkaProtocolError.invalidRecord("record length disagrees with its headers (\(end - position) bytes left)")
        }
        return headers
    }
}

import NIOCore

/// One record, whatever the format it was read from (magic 0, 1 or 2).
///
/// Decoded keys and values are slices sharing the storage of the batch they came
/// from (the decompressed buffer for a compressed batch): nothing is copied, and the
/// batch's memory lives as long as any of its records does.
///
/// A record decoded from a magic-2 batch without headers holds just one reference to
/// the batch bytes and the positions of its key and value; `key` and `value` slice
/// them on access. That keeps decoding (and copying records) to one reference count
/// operation per record instead of one per field, which is most of the cost of the
/// hot path.
public struct Record: Sendable {
    /// The absolute offset in the partition.
    public var offset: Int64
    /// The offset relative to its batch's base offset (for legacy formats, to the first record of the entry).
    public var offsetDelta: Int32
    /// Milliseconds since the epoch, already resolved: for a batch with `LogAppendTime`
    /// this is the batch's `maxTimestamp`. -1 when the format has no timestamps (magic 0).
    public var timestamp: Int64
    @usableFromInline var content: Content

    /// Where the key, value and headers are.
    @usableFromInline
    enum Content: Sendable {
        /// Positions within `bytes` (absolute indices); a negative length means null.
        case encoded(bytes: ByteBuffer, layout: EncodedLayout)
        case values(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader])
    }

    @usableFromInline
    struct EncodedLayout: Sendable {
        @usableFromInline var keyIndex: UInt32
        @usableFromInline var keyLength: Int32
        @usableFromInline var valueIndex: UInt32
        @usableFromInline var valueLength: Int32

        @usableFromInline
        init(keyIndex: UInt32, keyLength: Int32, valueIndex: UInt32, valueLength: Int32) {
            self.keyIndex = keyIndex
            self.keyLength = keyLength
            self.valueIndex = valueIndex
            self.valueLength = valueLength
        }
    }

    /// A record from its values (for appending to a builder, or for comparisons in tests).
    public init(offset: Int64 = 0, offsetDelta: Int32 = 0, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []) {
        self.offset = offset
        self.offsetDelta = offsetDelta
        self.timestamp = timestamp
        self.content = .values(key: key, value: value, headers: headers)
    }

    /// A record whose key and value are still positions in the batch bytes.
    init(offset: Int64, offsetDelta: Int32, timestamp: Int64, bytes: ByteBuffer, layout: EncodedLayout) {
        self.offset = offset
        self.offsetDelta = offsetDelta
        self.timestamp = timestamp
        self.content = .encoded(bytes: bytes, layout: layout)
    }

    /// The key, nil when null; a slice of the batch bytes for decoded records.
    public var key: ByteBuffer? {
        @inlinable get {
            switch self.content {
            case let .encoded(bytes, layout): return Self.slice(bytes, Int(layout.keyIndex), Int(layout.keyLength))
            case let .values(key, _, _): return key
            }
        }
        set {
            self.content = .values(key: newValue, value: self.value, headers: self.headers)
        }
    }

    /// The value, nil when null (a tombstone in a compacted topic); a slice of the batch bytes for decoded records.
    public var value: ByteBuffer? {
        @inlinable get {
            switch self.content {
            case let .encoded(bytes, layout): return Self.slice(bytes, Int(layout.valueIndex), Int(layout.valueLength))
            case let .values(_, value, _): return value
            }
        }
        set {
            self.content = .values(key: self.key, value: newValue, headers: self.headers)
        }
    }

    /// Record headers, in order; empty (and unallocated) for records without any.
    public var headers: [RecordHeader] {
        @inlinable get {
            switch self.content {
            case .encoded: return []
            case let .values(_, _, headers): return headers
            }
        }
        set {
            self.content = .values(key: self.key, value: self.value, headers: newValue)
        }
    }

    /// The key, value and headers, moved out of the record, which is consumed: for a decoded
    /// record, one slice each of key and value and no other work. Reading the properties one by
    /// one and clearing them (to move rather than copy) would rebuild the record's storage at
    /// each step.
    @inlinable
    public consuming func takeContents() -> (key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) {
        switch self.content {
        case let .encoded(bytes, layout):
            return (Self.slice(bytes, Int(layout.keyIndex), Int(layout.keyLength)),
                    Self.slice(bytes, Int(layout.valueIndex), Int(layout.valueLength)), [])
        case let .values(key, value, headers):
            return (key, value, headers)
        }
    }

    @inlinable @inline(__always)
    static func slice(_ bytes: ByteBuffer, _ index: Int, _ length: Int) -> ByteBuffer? {
        // Positions were checked when the record was decoded.
        length < 0 ? nil : bytes.getSlice(at: index, length: length)
    }
}

extension Record: Hashable {
    /// Records are equal when their offsets, timestamps, keys, values and headers are, however they are stored.
    public static func == (lhs: Record, rhs: Record) -> Bool {
        lhs.offset == rhs.offset && lhs.offsetDelta == rhs.offsetDelta && lhs.timestamp == rhs.timestamp
            && lhs.key == rhs.key && lhs.value == rhs.value && lhs.headers == rhs.headers
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.offset)
        hasher.combine(self.offsetDelta)
        hasher.combine(self.timestamp)
        hasher.combine(self.key)
        hasher.combine(self.value)
        hasher.combine(self.headers)
    }
}

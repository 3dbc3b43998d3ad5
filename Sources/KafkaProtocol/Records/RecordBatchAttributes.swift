/// The 16-bit attributes of a magic-2 record batch.
///
/// Bits 0–2: compression codec; 3: timestamp type; 4: transactional; 5: control;
/// 6: the batch carries a delete horizon (compacted tombstones); the rest are unused.
public struct RecordBatchAttributes: RawRepresentable, Sendable, Hashable {
    /// The attributes as stored.
    public var rawValue: Int16

    /// Attributes as read from a batch.
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// Attributes with the given codec and flags.
    public init(compression: CompressionCodec = .none, timestampType: TimestampType = .createTime,
                isTransactional: Bool = false, isControl: Bool = false, hasDeleteHorizon: Bool = false) {
        self.rawValue = 0
        self.compression = compression
        self.timestampType = timestampType
        self.isTransactional = isTransactional
        self.isControl = isControl
        self.hasDeleteHorizon = hasDeleteHorizon
    }

    static let compressionMask: Int16 = 0x07
    static let timestampTypeBit: Int16 = 1 << 3
    static let transactionalBit: Int16 = 1 << 4
    static let controlBit: Int16 = 1 << 5
    static let deleteHorizonBit: Int16 = 1 << 6

    /// The raw codec id; ids 5–7 are undefined and make `codec()` throw.
    public var compressionID: Int { Int(self.rawValue & Self.compressionMask) }

    /// The codec, or `KafkaProtocolError.unknownCompressionCodec`.
    public func codec() throws -> CompressionCodec { try CompressionCodec(id: self.compressionID) }

    /// The codec; setting it replaces the low three bits. Reading an undefined id gives `nil`.
    public var compression: CompressionCodec? {
        get { CompressionCodec(rawValue: self.compressionID) }
        set { self.rawValue = (self.rawValue & ~Self.compressionMask) | Int16(newValue?.rawValue ?? 0) }
    }

    /// Bit 3: whether timestamps were set by the producer or by the broker.
    public var timestampType: TimestampType {
        get { self.rawValue & Self.timestampTypeBit != 0 ? .logAppendTime : .createTime }
        set { self.set(Self.timestampTypeBit, newValue == .logAppendTime) }
    }

    /// Part of a transaction: consumers reading committed data hold it back until the commit marker.
    public var isTransactional: Bool {
        get { self.rawValue & Self.transactionalBit != 0 }
        set { self.set(Self.transactionalBit, newValue) }
    }

    /// Holds control records (transaction markers and the like), not application data.
    public var isControl: Bool {
        get { self.rawValue & Self.controlBit != 0 }
        set { self.set(Self.controlBit, newValue) }
    }

    /// The batch's base timestamp is the delete horizon set by log compaction (KIP-534).
    public var hasDeleteHorizon: Bool {
        get { self.rawValue & Self.deleteHorizonBit != 0 }
        set { self.set(Self.deleteHorizonBit, newValue) }
    }

    private mutating func set(_ bit: Int16, _ on: Bool) {
        if on { self.rawValue |= bit } else { self.rawValue &= ~bit }
    }
}

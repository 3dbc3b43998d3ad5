import NIOCore

/// The content of a record in a control batch.
///
/// Key: int16 version, int16 type. For the transaction markers (type 0 abort,
/// 1 commit) the value is int16 version, int32 coordinator epoch. Other control
/// types (KRaft's leader change, snapshot markers…) keep their value as raw bytes.
public struct ControlRecord: Sendable, Hashable {
    /// The control record types Kafka defines; unknown ones are kept by number.
    public enum Kind: Sendable, Hashable {
        case abort
        case commit
        case other(Int16)

        /// The kind for a type number from a control record key.
        public init(rawValue: Int16) {
            switch rawValue {
            case 0: self = .abort
            case 1: self = .commit
            default: self = .other(rawValue)
            }
        }

        /// The type number written in the key.
        public var rawValue: Int16 {
            switch self {
            case .abort: return 0
            case .commit: return 1
            case let .other(value): return value
            }
        }
    }

    /// The key's version (0 in every Kafka release so far).
    public var keyVersion: Int16
    /// Which control record this is.
    public var kind: Kind
    /// For a transaction marker: the value's version.
    public var markerVersion: Int16?
    /// For a transaction marker: the epoch of the coordinator that wrote it, which lets
    /// a broker fence markers from a zombie coordinator.
    public var coordinatorEpoch: Int32?
    /// For other kinds: the value as stored.
    public var rawValue: ByteBuffer?

    /// A commit or abort marker.
    public static func endTransaction(commit: Bool, coordinatorEpoch: Int32, version: Int16 = 0) -> ControlRecord {
        ControlRecord(keyVersion: 0, kind: commit ? .commit : .abort, markerVersion: version,
                      coordinatorEpoch: coordinatorEpoch, rawValue: nil)
    }

    /// A control record from its parts; see `endTransaction(commit:coordinatorEpoch:version:)` for markers.
    public init(keyVersion: Int16, kind: Kind, markerVersion: Int16?, coordinatorEpoch: Int32?, rawValue: ByteBuffer?) {
        self.keyVersion = keyVersion
        self.kind = kind
        self.markerVersion = markerVersion
        self.coordinatorEpoch = coordinatorEpoch
        self.rawValue = rawValue
    }

    /// Whether this is a commit or abort marker.
    public var isTransactionMarker: Bool { self.kind == .commit || self.kind == .abort }

    /// Parses a control record's key and value.
    /// - Throws: `invalidRecord` for a missing or short key, a negative version, or a
    ///   transaction marker whose value is missing or shorter than 6 bytes.
    public init(key: ByteBuffer?, value: ByteBuffer?) throws {
        guard var key else { throw KafkaProtocolError.invalidRecord("control record without a key") }
        guard key.readableBytes >= 4 else {
            throw KafkaProtocolError.invalidRecord("control record key of \(key.readableBytes) bytes; 4 needed")
        }
        let keyVersion = try key.readKafkaInteger(Int16.self, context: "control record key version")
        guard keyVersion >= 0 else { throw KafkaProtocolError.invalidRecord("control record key version \(keyVersion)") }
        let kind = Kind(rawValue: try key.readKafkaInteger(Int16.self, context: "control record type"))
        self.keyVersion = keyVersion
        self.kind = kind
        guard kind == .commit || kind == .abort else {
            self.markerVersion = nil
            self.coordinatorEpoch = nil
            self.rawValue = value
            return
        }
        // Later marker versions may append fields; the first two are fixed.
        guard var value, value.readableBytes >= 6 else {
            throw KafkaProtocolError.invalidRecord("transaction marker value of \(value?.readableBytes ?? 0) bytes; 6 needed")
        }
        let markerVersion = try value.readKafkaInteger(Int16.self, context: "transaction marker version")
        guard markerVersion >= 0 else { throw KafkaProtocolError.invalidRecord("transaction marker version \(markerVersion)") }
        self.markerVersion = markerVersion
        self.coordinatorEpoch = try value.readKafkaInteger(Int32.self, context: "transaction marker coordinator epoch")
        self.rawValue = nil
    }

    /// Parses the control record carried by `record`.
    public init(_ record: Record) throws {
        try self.init(key: record.key, value: record.value)
    }

    /// The key bytes.
    public func encodedKey() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 4)
        buffer.writeInteger(self.keyVersion, endianness: .big)
        buffer.writeInteger(self.kind.rawValue, endianness: .big)
        return buffer
    }

    /// The value bytes: the marker fields for commit/abort, `rawValue` otherwise.
    public func encodedValue() -> ByteBuffer? {
        guard self.isTransactionMarker else { return self.rawValue }
        var buffer = ByteBufferAllocator().buffer(capacity: 6)
        buffer.writeInteger(self.markerVersion ?? 0, endianness: .big)
        buffer.writeInteger(self.coordinatorEpoch ?? 0, endianness: .big)
        return buffer
    }
}

import NIOCore

/// The 61-byte fixed header of a magic-2 record batch, readable without touching
/// (or decompressing) the records that follow.
///
/// ```
/// offset  size  field
///  0       8    baseOffset
///  8       4    batchLength            bytes after this field, to the end of the batch
/// 12       4    partitionLeaderEpoch
/// 16       1    magic (2)
/// 17       4    crc                    CRC-32C of bytes 21 ..< end
/// 21       2    attributes
/// 23       4    lastOffsetDelta
/// 27       8    baseTimestamp
/// 35       8    maxTimestamp
/// 43       8    producerId
/// 51       2    producerEpoch
/// 53       4    baseSequence
/// 57       4    recordCount
/// 61            records (compressed as one block when a codec is set)
/// ```
///
/// Because the CRC starts at the attributes, a broker can assign offsets (patch
/// `baseOffset`) and stamp the leader epoch without recomputing it.
public struct RecordBatchHeader: Sendable, Hashable {
    /// The offset of the first record; assigned by the partition leader.
    public var baseOffset: Int64
    /// The size of the batch after this field (total size − 12).
    public var batchLength: Int32
    /// The leader epoch of the broker that appended the batch.
    public var partitionLeaderEpoch: Int32
    /// The format version: 2.
    public var magic: Int8
    /// The stored CRC-32C of bytes 21 to the end.
    public var crc: UInt32
    /// Codec, timestamp type, transactional and control flags.
    public var attributes: RecordBatchAttributes
    /// The offset delta of the last record (kept when compaction removes records).
    public var lastOffsetDelta: Int32
    /// The first record's timestamp (or the delete horizon; see `RecordBatchAttributes.hasDeleteHorizon`).
    public var baseTimestamp: Int64
    /// The largest record timestamp, or the append time for `LogAppendTime` batches.
    public var maxTimestamp: Int64
    /// The producer id; -1 without idempotence.
    public var producerId: Int64
    /// The producer epoch; -1 without idempotence.
    public var producerEpoch: Int16
    /// The first record's sequence number; -1 without idempotence.
    public var baseSequence: Int32
    /// The number of records in the batch.
    public var recordCount: Int32

    /// Byte offsets of the fields within a batch (see the table above).
    public enum Layout {
        public static let baseOffset = 0
        public static let batchLength = 8
        public static let partitionLeaderEpoch = 12
        public static let magic = 16
        public static let crc = 17
        public static let attributes = 21
        public static let lastOffsetDelta = 23
        public static let baseTimestamp = 27
        public static let maxTimestamp = 35
        public static let producerId = 43
        public static let producerEpoch = 51
        public static let baseSequence = 53
        public static let recordCount = 57
        public static let records = 61
    }

    /// The size of the fixed header.
    public static let size = 61
    /// Bytes in front of what `batchLength` counts (baseOffset and batchLength itself).
    public static let logOverhead = 12
    /// The smallest valid `batchLength`: a header with no records.
    public static let minimumBatchLength = Int32(size - logOverhead)
    /// The magic byte of this format.
    public static let magicValue: Int8 = 2
    /// `producerId` (and epoch) of a batch sent without idempotence.
    public static let noProducerId: Int64 = -1
    /// `baseSequence` of a batch sent without idempotence.
    public static let noSequence: Int32 = -1

    public init(baseOffset: Int64 = 0, batchLength: Int32 = minimumBatchLength, partitionLeaderEpoch: Int32 = -1,
                magic: Int8 = magicValue, crc: UInt32 = 0, attributes: RecordBatchAttributes = .init(),
                lastOffsetDelta: Int32 = 0, baseTimestamp: Int64 = -1, maxTimestamp: Int64 = -1,
                producerId: Int64 = noProducerId, producerEpoch: Int16 = -1, baseSequence: Int32 = noSequence,
                recordCount: Int32 = 0) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// Reads the header of the batch at absolute index `index` of `buffer`. Checks only
    /// what the header itself can tell: the magic byte, a plausible length and record
    /// count. Neither the CRC nor the presence of the whole batch is checked here.
    ///
    /// - Throws: `truncated` when fewer than 61 bytes are readable at `index`,
    ///   `unsupportedMagic`, `invalidLength`, `invalidCount`.
    public init(from buffer: ByteBuffer, at index: Int) throws {
        let available = buffer.writerIndex - index
        guard index >= buffer.readerIndex, available >= Self.size else {
            throw KafkaProtocolError.truncated(context: "record batch header", needed: Self.size, available: Swift.max(0, available))
        }
        let magic = buffer.getInteger(at: index + Layout.magic, as: Int8.self)!
        guard magic == Self.magicValue else { throw KafkaProtocolError.unsupportedMagic(magic) }
        func read<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T {
            buffer.getInteger(at: index + offset, endianness: .big, as: T.self)!
        }
        self.baseOffset = read(Layout.baseOffset)
        self.batchLength = read(Layout.batchLength)
        self.partitionLeaderEpoch = read(Layout.partitionLeaderEpoch)
        self.magic = magic
        self.crc = read(Layout.crc)
        self.attributes = RecordBatchAttributes(rawValue: read(Layout.attributes))
        self.lastOffsetDelta = read(Layout.lastOffsetDelta)
        self.baseTimestamp = read(Layout.baseTimestamp)
        self.maxTimestamp = read(Layout.maxTimestamp)
        self.producerId = read(Layout.producerId)
        self.producerEpoch = read(Layout.producerEpoch)
        self.baseSequence = read(Layout.baseSequence)
        self.recordCount = read(Layout.recordCount)
        guard self.batchLength >= Self.minimumBatchLength else {
            throw KafkaProtocolError.invalidLength(context: "record batch length", length: Int(self.batchLength))
        }
        guard self.recordCount >= 0 else {
            throw KafkaProtocolError.invalidCount(context: "record batch record count", count: Int(self.recordCount))
        }
    }

    /// The whole batch's size in bytes, header included.
    public var totalSize: Int { Self.logOverhead + Int(self.batchLength) }
    /// The offset of the batch's last record (also for empty, compacted batches).
    public var lastOffset: Int64 { self.baseOffset &+ Int64(self.lastOffsetDelta) }
    /// The offset after this batch.
    public var nextOffset: Int64 { self.lastOffset &+ 1 }
    public var isTransactional: Bool { self.attributes.isTransactional }
    public var isControl: Bool { self.attributes.isControl }
    public var timestampType: TimestampType { self.attributes.timestampType }
    /// Whether the producer is idempotent (or transactional): only then do sequences mean anything.
    public var hasProducerId: Bool { self.producerId >= 0 }
    /// The sequence number of the last record, wrapping at `Int32.max` as Kafka's sequences do.
    public var lastSequence: Int32 {
        guard self.baseSequence != Self.noSequence else { return Self.noSequence }
        let last = Int64(self.baseSequence) + Int64(self.lastOffsetDelta)
        return Int32(truncatingIfNeeded: last > Int64(Int32.max) ? last - Int64(Int32.max) - 1 : last)
    }

    /// Writes the 61 header bytes as they are (the CRC is not recomputed).
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(self.baseOffset, endianness: .big)
        buffer.writeInteger(self.batchLength, endianness: .big)
        buffer.writeInteger(self.partitionLeaderEpoch, endianness: .big)
        buffer.writeInteger(self.magic)
        buffer.writeInteger(self.crc, endianness: .big)
        buffer.writeInteger(self.attributes.rawValue, endianness: .big)
        buffer.writeInteger(self.lastOffsetDelta, endianness: .big)
        buffer.writeInteger(self.baseTimestamp, endianness: .big)
        buffer.writeInteger(self.maxTimestamp, endianness: .big)
        buffer.writeInteger(self.producerId, endianness: .big)
        buffer.writeInteger(self.producerEpoch, endianness: .big)
        buffer.writeInteger(self.baseSequence, endianness: .big)
        buffer.writeInteger(self.recordCount, endianness: .big)
    }

    // MARK: Working on batches in place

    /// The CRC-32C that the batch at `index` should carry: over its bytes from the attributes to its end.
    /// - Throws: the header's errors, or `truncated` when the batch is not entirely in `buffer`.
    public static func computeCRC(in buffer: ByteBuffer, at index: Int) throws -> UInt32 {
        let header = try RecordBatchHeader(from: buffer, at: index)
        return try CRC32C.checksum(buffer, at: index + Layout.attributes, length: header.totalSize - Layout.attributes)
    }

    /// Checks the stored CRC of the batch at `index` against its contents.
    /// - Throws: `crcMismatch(expected: stored, actual: computed)`, or the errors of `computeCRC`.
    public static func verifyCRC(in buffer: ByteBuffer, at index: Int) throws {
        let stored = try RecordBatchHeader(from: buffer, at: index).crc
        let computed = try computeCRC(in: buffer, at: index)
        guard stored == computed else { throw KafkaProtocolError.crcMismatch(expected: stored, actual: computed) }
    }

    /// Sets the base offset of the batch at `index`; the CRC stays valid (it does not cover this field).
    /// - Throws: `truncated` when there is no complete header at `index`.
    public static func setBaseOffset(_ offset: Int64, in buffer: inout ByteBuffer, at index: Int) throws {
        _ = try RecordBatchHeader(from: buffer, at: index)
        buffer.setInteger(offset, at: index + Layout.baseOffset, endianness: .big)
    }

    /// Sets the partition leader epoch of the batch at `index`; the CRC stays valid.
    public static func setPartitionLeaderEpoch(_ epoch: Int32, in buffer: inout ByteBuffer, at index: Int) throws {
        _ = try RecordBatchHeader(from: buffer, at: index)
        buffer.setInteger(epoch, at: index + Layout.partitionLeaderEpoch, endianness: .big)
    }

    /// Marks the batch at `index` as stamped by the broker at `timestamp` (the topic's
    /// `message.timestamp.type=LogAppendTime`): sets the timestamp-type bit and
    /// `maxTimestamp`, then recomputes the CRC, which covers both.
    public static func setLogAppendTime(_ timestamp: Int64, in buffer: inout ByteBuffer, at index: Int) throws {
        var header = try RecordBatchHeader(from: buffer, at: index)
        header.attributes.timestampType = .logAppendTime
        buffer.setInteger(header.attributes.rawValue, at: index + Layout.attributes, endianness: .big)
        buffer.setInteger(timestamp, at: index + Layout.maxTimestamp, endianness: .big)
        let crc = try computeCRC(in: buffer, at: index)
        buffer.setInteger(crc, at: index + Layout.crc, endianness: .big)
    }
}

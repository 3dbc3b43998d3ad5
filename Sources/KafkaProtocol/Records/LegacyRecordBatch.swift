import NIOCore

/// One top-level message of a magic-0 or magic-1 message set (Kafka before 0.11),
/// with its records in the same `Record` shape as magic 2.
///
/// An uncompressed message is one record. A compressed one is a "wrapper" whose value
/// is a compressed message set of inner messages; in magic 1 the inner offsets are
/// relative (0, 1, …) and the wrapper carries the absolute offset of the last one.
/// Unlike `RecordBatch`, records are decoded eagerly: this format is only met when
/// reading old data, never on the hot path.
public struct LegacyRecordBatch: Sendable {
    /// The message's offset field: for a magic-1 wrapper, the offset of its last record.
    public let offset: Int64
    /// 0 or 1.
    public let magic: Int8
    /// The stored CRC-32.
    public let crc: UInt32
    /// Bits 0–2 codec, bit 3 (magic 1) LogAppendTime.
    public let attributes: Int8
    /// The message's timestamp; -1 for magic 0.
    public let timestamp: Int64
    /// The wrapper's codec; `.none` for a plain message.
    public let compression: CompressionCodec
    /// `.logAppendTime` when a magic-1 message has attribute bit 3 set.
    public let timestampType: TimestampType
    /// The records, with absolute offsets and resolved timestamps.
    public let records: [Record]
    /// The size of the top-level message in bytes.
    public let totalSize: Int

    /// Decodes the top-level message at absolute `index` of `buffer`, decompressing a wrapper.
    ///
    /// - Throws: `truncated`, `invalidLength`, `unsupportedMagic`, `crcMismatch` (for the
    ///   wrapper and every inner message), `unknownCompressionCodec`, `decompressionFailed`,
    ///   `tooLarge`, and `invalidRecord` for nested compression, inner messages whose magic
    ///   differs from the wrapper's, or a wrapper with no value or no inner messages.
    public init(decoding buffer: ByteBuffer, at index: Int, options: RecordDecodingOptions = .default) throws {
        let message = try LegacyMessage.parse(buffer, at: index, verifyChecksum: options.verifyChecksums)
        self.offset = message.offset
        self.magic = message.magic
        self.crc = message.crc
        self.attributes = message.attributes
        self.timestamp = message.timestamp
        self.totalSize = message.totalSize
        self.compression = try CompressionCodec(id: Int(message.attributes & 0x07))
        // The timestamp-type bit exists from magic 1 on.
        self.timestampType = message.magic >= 1 && message.attributes & 0x08 != 0 ? .logAppendTime : .createTime

        guard self.compression != .none else {
            self.records = [Record(offset: message.offset, offsetDelta: 0, timestamp: message.timestamp,
                                   key: message.key, value: message.value)]
            return
        }
        guard let value = message.value else {
            throw KafkaProtocolError.invalidRecord("compressed legacy message at offset \(message.offset) has no value")
        }
        let inner = try self.compression.decompress(value, maxOutputBytes: options.maxDecompressedBytes,
                                                    legacyLZ4HeaderChecksum: message.magic == 0)
        var messages: [LegacyMessage] = []
        var position = inner.readerIndex
        while position < inner.writerIndex {
            let innerMessage = try LegacyMessage.parse(inner, at: position, verifyChecksum: options.verifyChecksums)
            guard innerMessage.magic == message.magic else {
                throw KafkaProtocolError.invalidRecord("inner message magic \(innerMessage.magic) differs from its wrapper's \(message.magic)")
            }
            guard innerMessage.attributes & 0x07 == 0 else {
                throw KafkaProtocolError.invalidRecord("compressed message nested in a compressed message")
            }
            messages.append(innerMessage)
            position += innerMessage.totalSize
        }
        guard let last = messages.last, let first = messages.first else {
            throw KafkaProtocolError.invalidRecord("compressed legacy message at offset \(message.offset) holds no messages")
        }
        // Magic 1 inner offsets count from 0 and the wrapper holds the last one's absolute
        // offset; magic 0 inner messages carry absolute offsets themselves.
        let base: Int64 = message.magic >= 1 ? message.offset &- last.offset : 0
        let firstOffset = base &+ first.offset
        let logAppendTime = self.timestampType == .logAppendTime ? message.timestamp : nil
        self.records = messages.map { innerMessage in
            let absolute = base &+ innerMessage.offset
            return Record(offset: absolute, offsetDelta: Int32(truncatingIfNeeded: absolute &- firstOffset),
                          timestamp: logAppendTime ?? innerMessage.timestamp, key: innerMessage.key, value: innerMessage.value)
        }
    }

    /// The offset of the first record.
    public var baseOffset: Int64 { self.records.first?.offset ?? self.offset }
    /// The offset of the last record.
    public var lastOffset: Int64 { self.records.last?.offset ?? self.offset }
}

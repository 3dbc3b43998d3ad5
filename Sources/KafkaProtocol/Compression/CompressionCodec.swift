import NIOCore

/// The compression codecs Kafka defines, by the id stored in the low three bits of
/// a batch's (or legacy message's) attributes.
public enum CompressionCodec: Int, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// The limit `decompress` applies unless told otherwise. Kafka's own default maximum
    /// message size is about 1 MiB, so 64 MiB of decompressed records is generous while
    /// still stopping a small "decompression bomb" from exhausting memory.
    public static let defaultMaxDecompressedBytes = 64 << 20

    /// The codec for an attributes id, or `KafkaProtocolError.unknownCompressionCodec`.
    public init(id: Int) throws {
        guard let codec = CompressionCodec(rawValue: id) else { throw KafkaProtocolError.unknownCompressionCodec(id) }
        self = codec
    }

    /// The name Kafka uses in configuration (`compression.type`).
    public var description: String {
        switch self {
        case .none: return "none"
        case .gzip: return "gzip"
        case .snappy: return "snappy"
        case .lz4: return "lz4"
        case .zstd: return "zstd"
        }
    }

    /// Compresses `input` and appends the result to `output`.
    ///
    /// Snappy is written raw (not xerial-framed), LZ4 as a standard LZ4 frame with
    /// correct header checksum, gzip with gzip framing, zstd as one frame.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer) throws {
        switch self {
        case .none: output.writeBytes(input)
        case .gzip: try GzipCodec.compress(input, appendingTo: &output)
        case .snappy: try SnappyCodec.compress(input, appendingTo: &output)
        case .lz4: try LZ4Codec.compress(input, appendingTo: &output)
        case .zstd: try ZstdCodec.compress(input, appendingTo: &output)
        }
    }

    /// Compresses the readable bytes of `input` and appends the result to `output`.
    public func compress(_ input: ByteBuffer, appendingTo output: inout ByteBuffer) throws {
        try input.withUnsafeReadableBytes { try self.compress($0, appendingTo: &output) }
    }

    /// Decompresses `input` into a new buffer.
    ///
    /// - Parameters:
    ///   - maxOutputBytes: output larger than this is refused with `KafkaProtocolError.tooLarge`
    ///     before more memory than the limit is committed.
    ///   - legacyLZ4HeaderChecksum: `true` for magic-0 message sets, whose LZ4 frames carry
    ///     the header checksum that Kafka 0.8/0.9 computed wrongly; it is then ignored.
    /// - Throws: `decompressionFailed` on corrupt or truncated data, `tooLarge` past the limit.
    public func decompress(
        _ input: UnsafeRawBufferPointer,
        maxOutputBytes: Int = CompressionCodec.defaultMaxDecompressedBytes,
        legacyLZ4HeaderChecksum: Bool = false
    ) throws -> ByteBuffer {
        switch self {
        case .none:
            guard input.count <= maxOutputBytes else {
                throw KafkaProtocolError.tooLarge(context: "uncompressed records", size: input.count, limit: maxOutputBytes)
            }
            return ByteBuffer(bytes: input)
        case .gzip: return try GzipCodec.decompress(input, maxOutputBytes: maxOutputBytes)
        case .snappy: return try SnappyCodec.decompress(input, maxOutputBytes: maxOutputBytes)
        case .lz4: return try LZ4Codec.decompress(input, maxOutputBytes: maxOutputBytes, legacyHeaderChecksum: legacyLZ4HeaderChecksum)
        case .zstd: return try ZstdCodec.decompress(input, maxOutputBytes: maxOutputBytes)
        }
    }

    /// Decompresses the readable bytes of `input`. For `.none` the result shares `input`'s storage.
    public func decompress(
        _ input: ByteBuffer,
        maxOutputBytes: Int = CompressionCodec.defaultMaxDecompressedBytes,
        legacyLZ4HeaderChecksum: Bool = false
    ) throws -> ByteBuffer {
        if self == .none {
            guard input.readableBytes <= maxOutputBytes else {
                throw KafkaProtocolError.tooLarge(context: "uncompressed records", size: input.readableBytes, limit: maxOutputBytes)
            }
            return input
        }
        return try input.withUnsafeReadableBytes {
            try self.decompress($0, maxOutputBytes: maxOutputBytes, legacyLZ4HeaderChecksum: legacyLZ4HeaderChecksum)
        }
    }
}

import NIOCore

/// Every way that Kafka protocol bytes can be malformed or unsupported.
///
/// Decoders never trap on bad input: they throw one of these, leaving the
/// caller's data untouched so nothing is silently lost.
public enum KafkaProtocolError: Error, Equatable, Sendable {
    /// The buffer ended before a value was complete.
    case truncated(context: String, needed: Int, available: Int)
    /// A length prefix was negative (where null is not allowed) or points past the end of the buffer.
    case invalidLength(context: String, length: Int)
    /// An array element count was negative (where null is not allowed) or larger than the remaining bytes allow.
    case invalidCount(context: String, count: Int)
    /// A variable-length integer ran past its maximum size.
    case malformedVarint(context: String)
    /// A string field was not valid UTF-8.
    case invalidUTF8(context: String)
    /// A null was found where the schema does not allow one.
    case unexpectedNull(context: String)
    /// The message does not exist at this version.
    case unsupportedVersion(message: String, version: Int16)
    /// The API key is unknown to this implementation.
    case unknownApiKey(Int16)
    /// A field holds a non-default value but does not exist at the version being encoded.
    case fieldNotSupported(message: String, field: String, version: Int16)
    /// A record batch's stored CRC does not match its contents.
    case crcMismatch(expected: UInt32, actual: UInt32)
    /// The compression codec id in a batch's attributes is not one Kafka defines.
    case unknownCompressionCodec(Int)
    /// The record format (magic byte) is not 0, 1 or 2.
    case unsupportedMagic(Int8)
    /// A codec failed to compress.
    case compressionFailed(codec: String, reason: String)
    /// A codec failed to decompress: corrupt or truncated compressed data.
    case decompressionFailed(codec: String, reason: String)
    /// A record or batch is structurally wrong (for example, its records disagree with its header).
    case invalidRecord(String)
    /// A value is larger than the protocol or a configured limit permits.
    case tooLarge(context: String, size: Int, limit: Int)
}

extension KafkaProtocolError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .truncated(context, needed, available):
            return "truncated \(context): needed \(needed) bytes, \(available) available"
        case let .invalidLength(context, length):
            return "invalid length \(length) for \(context)"
        case let .invalidCount(context, count):
            return "invalid element count \(count) for \(context)"
        case let .malformedVarint(context):
            return "malformed varint in \(context)"
        case let .invalidUTF8(context):
            return "invalid UTF-8 in \(context)"
        case let .unexpectedNull(context):
            return "unexpected null for non-nullable \(context)"
        case let .unsupportedVersion(message, version):
            return "\(message) has no version \(version)"
        case let .unknownApiKey(key):
            return "unknown API key \(key)"
        case let .fieldNotSupported(message, field, version):
            return "\(message).\(field) is set but does not exist in version \(version)"
        case let .crcMismatch(expected, actual):
            return "CRC mismatch: stored \(expected), computed \(actual)"
        case let .unknownCompressionCodec(id):
            return "unknown compression codec \(id)"
        case let .unsupportedMagic(magic):
            return "unsupported record format magic \(magic)"
        case let .compressionFailed(codec, reason):
            return "\(codec) compression failed: \(reason)"
        case let .decompressionFailed(codec, reason):
            return "\(codec) decompression failed: \(reason)"
        case let .invalidRecord(reason):
            return "invalid record: \(reason)"
        case let .tooLarge(context, size, limit):
            return "\(context) of \(size) bytes exceeds the limit of \(limit)"
        }
    }
}

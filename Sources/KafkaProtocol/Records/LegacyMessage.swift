import CZlib
import NIOCore

/// One message of the magic-0/1 format, parsed but not decompressed.
///
/// ```
/// offset int64 | size int32 | crc uint32 | magic int8 | attributes int8
/// | timestamp int64 (magic 1 only) | key bytes (int32 length, -1 null) | value bytes
/// ```
/// The CRC is CRC-32 (IEEE, zlib's) of everything from `magic` to the end.
struct LegacyMessage {
    var offset: Int64
    var magic: Int8
    var crc: UInt32
    var attributes: Int8
    /// -1 for magic 0, which has no timestamps.
    var timestamp: Int64
    var key: ByteBuffer?
    var value: ByteBuffer?
    /// The size including the offset and size fields.
    var totalSize: Int

    /// Bytes in front of what `size` counts.
    static let logOverhead = 12
    /// The smallest `size` of any legacy message (magic 0: crc, magic, attributes, two null lengths).
    static let minimumSize = 14

    static func minimumSize(magic: Int8) -> Int { magic == 0 ? 14 : 22 }

    /// Parses the message at absolute `index` of `buffer`, which must hold all of it.
    static func parse(_ buffer: ByteBuffer, at index: Int, verifyChecksum: Bool) throws -> LegacyMessage {
        let available = buffer.writerIndex - index
        guard available >= logOverhead else {
            throw KafkaProtocolError.truncated(context: "legacy message header", needed: logOverhead, available: available)
        }
        let offset = buffer.getInteger(at: index, endianness: .big, as: Int64.self)!
        let size = Int(buffer.getInteger(at: index + 8, endianness: .big, as: Int32.self)!)
        guard size >= minimumSize else { throw KafkaProtocolError.invalidLength(context: "legacy message size", length: size) }
        guard size <= available - logOverhead else {
            throw KafkaProtocolError.truncated(context: "legacy message", needed: logOverhead + size, available: available)
        }
        let magic = buffer.getInteger(at: index + 16, as: Int8.self)!
        guard magic == 0 || magic == 1 else { throw KafkaProtocolError.unsupportedMagic(magic) }
        guard size >= minimumSize(magic: magic) else {
            throw KafkaProtocolError.invalidLength(context: "legacy message size", length: size)
        }
        let crc = buffer.getInteger(at: index + 12, endianness: .big, as: UInt32.self)!
        let end = index + logOverhead + size
        if verifyChecksum {
            let computed = buffer.getSlice(at: index + 16, length: end - index - 16)!.withUnsafeReadableBytes { raw in
                UInt32(truncatingIfNeeded: crc32(0, raw.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(raw.count)))
            }
            guard computed == crc else { throw KafkaProtocolError.crcMismatch(expected: crc, actual: computed) }
        }
        let attributes = buffer.getInteger(at: index + 17, as: Int8.self)!
        var position = index + 18
        var timestamp: Int64 = -1
        if magic == 1 {
            timestamp = buffer.getInteger(at: position, endianness: .big, as: Int64.self)!
            position += 8
        }
        let key = try readBytes(buffer, &position, end, context: "legacy message key")
        let value = try readBytes(buffer, &position, end, context: "legacy message value")
        guard position == end else {
            throw KafkaProtocolError.invalidRecord("legacy message size \(size) disagrees with its fields (\(end - position) bytes left)")
        }
        return LegacyMessage(offset: offset, magic: magic, crc: crc, attributes: attributes, timestamp: timestamp,
                             key: key, value: value, totalSize: logOverhead + size)
    }

    private static func readBytes(_ buffer: ByteBuffer, _ position: inout Int, _ end: Int, context: StaticString) throws -> ByteBuffer? {
        guard end - position >= 4 else { throw KafkaProtocolError.truncated(context: "\(context) length", needed: 4, available: end - position) }
        let length = Int(buffer.getInteger(at: position, endianness: .big, as: Int32.self)!)
        position += 4
        guard length >= 0 else {
            guard length == -1 else { throw KafkaProtocolError.invalidLength(context: "\(context)", length: length) }
            return nil
        }
        guard length <= end - position else {
            throw KafkaProtocolError.truncated(context: "\(context)", needed: length, available: end - position)
        }
        defer { position += length }
        return buffer.getSlice(at: position, length: length)
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

// Strings, byte arrays, UUIDs and array counts, in both the classic
// (int16/int32 length) and the compact (unsigned varint length + 1) forms
// that flexible message versions use.
extension ByteBuffer {
    // MARK: Lengths

    /// Reads a length prefix; `nil` means null. Verifies the length fits in the readable bytes.
    @inlinable
    mutating func readKafkaLength(compact: Bool, wide: Bool, context: @autoclosure () -> String) throws -> Int? {
        let length: Int
        if compact {
            let raw = try self.readUnsignedVarint(context: context())
            if raw == 0 { return nil }
            length = Int(raw) - 1
        } else if wide {
            let raw = try self.readKafkaInteger(Int32.self, context: context())
            if raw < 0 {
                guard raw == -1 else { throw KafkaProtocolError.invalidLength(context: context(), length: Int(raw)) }
                return nil
            }
            length = Int(raw)
        } else {
            let raw = try self.readKafkaInteger(Int16.self, context: context())
            if raw < 0 {
                guard raw == -1 else { throw KafkaProtocolError.invalidLength(context: context(), length: Int(raw)) }
                return nil
            }
            length = Int(raw)
        }
        guard length <= self.readableBytes else {
            throw KafkaProtocolError.truncated(context: context(), needed: length, available: self.readableBytes)
        }
        return length
    }

    @inlinable
    mutating func writeKafkaLength(_ length: Int?, compact: Bool, wide: Bool) {
        if compact {
            self.writeUnsignedVarint(length.map { UInt32($0 + 1) } ?? 0)
        } else if wide {
            self.writeInteger(length.map { Int32($0) } ?? -1, endianness: .big)
        } else {
            self.writeInteger(length.map { Int16($0) } ?? -1, endianness: .big)
        }
    }

    // MARK: Strings

    /// Reads a nullable string (int16 length, or compact).
    @inlinable
    public mutating func readKafkaNullableString(compact: Bool, context: @autoclosure () -> String) throws -> String? {
        guard let length = try self.readKafkaLength(compact: compact, wide: false, context: context()) else { return nil }
        let string: String? = self.withUnsafeReadableBytes { raw in
            String(validating: UnsafeRawBufferPointer(rebasing: raw[0..<length]).bindMemory(to: UInt8.self), as: UTF8.self)
        }
        guard let string else { throw KafkaProtocolError.invalidUTF8(context: context()) }
        self.moveReaderIndex(forwardBy: length)
        return string
    }

    @inlinable
    public mutating func readKafkaString(compact: Bool, context: @autoclosure () -> String) throws -> String {
        guard let string = try self.readKafkaNullableString(compact: compact, context: context()) else {
            throw KafkaProtocolError.unexpectedNull(context: context())
        }
        return string
    }

    /// Writes a nullable string. Strings longer than 32767 UTF-8 bytes cannot be expressed in the classic form.
    @inlinable
    public mutating func writeKafkaString(_ value: String?, compact: Bool) throws {
        guard var value else {
            self.writeKafkaLength(nil, compact: compact, wide: false)
            return
        }
        let length = value.utf8.count
        if !compact && length > Int(Int16.max) {
            throw KafkaProtocolError.tooLarge(context: "string", size: length, limit: Int(Int16.max))
        }
        self.writeKafkaLength(length, compact: compact, wide: false)
        value.withUTF8 { _ = self.writeBytes($0) }
    }

    // MARK: Bytes

    /// Reads a nullable byte array (int32 length, or compact) as a slice sharing this buffer's storage.
    @inlinable
    public mutating func readKafkaNullableBytes(compact: Bool, context: @autoclosure () -> String) throws -> ByteBuffer? {
        guard let length = try self.readKafkaLength(compact: compact, wide: true, context: context()) else { return nil }
        return self.readSlice(length: length)!
    }

    @inlinable
    public mutating func readKafkaBytes(compact: Bool, context: @autoclosure () -> String) throws -> ByteBuffer {
        guard let bytes = try self.readKafkaNullableBytes(compact: compact, context: context()) else {
            throw KafkaProtocolError.unexpectedNull(context: context())
        }
        return bytes
    }

    @inlinable
    public mutating func writeKafkaBytes(_ value: ByteBuffer?, compact: Bool) {
        guard let value else {
            self.writeKafkaLength(nil, compact: compact, wide: true)
            return
        }
        self.writeKafkaLength(value.readableBytes, compact: compact, wide: true)
        self.writeImmutableBuffer(value)
    }

    // MARK: Arrays

    /// Reads an array element count; `nil` means a null array. A count larger than the
    /// remaining bytes is refused before anything is allocated for it.
    @inlinable
    public mutating func readKafkaArrayCount(compact: Bool, context: @autoclosure () -> String) throws -> Int? {
        let count: Int
        if compact {
            let raw = try self.readUnsignedVarint(context: context())
            if raw == 0 { return nil }
            count = Int(raw) - 1
        } else {
            let raw = try self.readKafkaInteger(Int32.self, context: context())
            if raw < 0 {
                guard raw == -1 else { throw KafkaProtocolError.invalidCount(context: context(), count: Int(raw)) }
                return nil
            }
            count = Int(raw)
        }
        guard count <= self.readableBytes else {
            throw KafkaProtocolError.invalidCount(context: context(), count: count)
        }
        return count
    }

    @inlinable
    public mutating func writeKafkaArrayCount(_ count: Int?, compact: Bool) {
        if compact {
            self.writeUnsignedVarint(count.map { UInt32($0 + 1) } ?? 0)
        } else {
            self.writeInteger(count.map { Int32($0) } ?? -1, endianness: .big)
        }
    }

    // MARK: UUID

    @inlinable
    public mutating func readKafkaUUID(context: @autoclosure () -> String) throws -> UUID {
        guard self.readableBytes >= 16 else {
            throw KafkaProtocolError.truncated(context: context(), needed: 16, available: self.readableBytes)
        }
        let hi = self.readInteger(endianness: .big, as: UInt64.self)!
        let lo = self.readInteger(endianness: .big, as: UInt64.self)!
        return UUID(kafkaHigh: hi, low: lo)
    }

    @inlinable
    public mutating func writeKafkaUUID(_ value: UUID) {
        let (hi, lo) = value.kafkaBits
        self.writeInteger(hi, endianness: .big)
        self.writeInteger(lo, endianness: .big)
    }
}

extension UUID {
    /// Kafka's all-zero UUID, which the protocol uses as "no topic id".
    public static let kafkaZero = UUID(kafkaHigh: 0, low: 0)

    @inlinable
    public init(kafkaHigh hi: UInt64, low lo: UInt64) {
        let h = hi.bigEndian, l = lo.bigEndian
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { raw in
            withUnsafeBytes(of: h) { raw.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 8) }
            withUnsafeBytes(of: l) { (raw.baseAddress! + 8).copyMemory(from: $0.baseAddress!, byteCount: 8) }
        }
        self.init(uuid: bytes)
    }

    /// The most and least significant 64 bits, as Kafka's Java `Uuid` holds them.
    @inlinable
    public var kafkaBits: (high: UInt64, low: UInt64) {
        withUnsafeBytes(of: self.uuid) { raw in
            (UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }
}

import NIOCore

// Fixed-width and variable-length integers as Kafka writes them: big-endian
// fixed widths, protobuf-style unsigned varints, and zig-zag signed varints.
extension ByteBuffer {
    @inlinable
    public mutating func readKafkaInteger<T: FixedWidthInteger>(_: T.Type = T.self, context: @autoclosure () -> String) throws -> T {
        guard let value = self.readInteger(endianness: .big, as: T.self) else {
            throw KafkaProtocolError.truncated(context: context(), needed: MemoryLayout<T>.size, available: self.readableBytes)
        }
        return value
    }

    @inlinable
    public mutating func readKafkaBool(context: @autoclosure () -> String) throws -> Bool {
        try self.readKafkaInteger(UInt8.self, context: context()) != 0
    }

    @inlinable
    public mutating func writeKafkaBool(_ value: Bool) {
        self.writeInteger(value ? 1 : 0, as: UInt8.self)
    }

    @inlinable
    public mutating func readKafkaFloat64(context: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try self.readKafkaInteger(UInt64.self, context: context()))
    }

    @inlinable
    public mutating func writeKafkaFloat64(_ value: Double) {
        self.writeInteger(value.bitPattern, endianness: .big)
    }

    /// Reads an unsigned varint of at most 5 bytes (32 bits).
    @inlinable
    public mutating func readUnsignedVarint(context: @autoclosure () -> String) throws -> UInt32 {
        let value = try self.readUnsignedVarlong(maxBytes: 5, context: context())
        guard value <= UInt64(UInt32.max) else { throw KafkaProtocolError.malformedVarint(context: context()) }
        return UInt32(truncatingIfNeeded: value)
    }

    /// Reads an unsigned varint of at most `maxBytes` bytes (10 for 64 bits).
    @inlinable
    public mutating func readUnsignedVarlong(maxBytes: Int = 10, context: @autoclosure () -> String) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = self.readerIndex
        let end = self.writerIndex
        for _ in 0..<maxBytes {
            guard index < end else {
                throw KafkaProtocolError.truncated(context: context(), needed: index - self.readerIndex + 1, available: self.readableBytes)
            }
            let byte = self.getInteger(at: index, as: UInt8.self)!
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                self.moveReaderIndex(to: index)
                return result
            }
            shift += 7
        }
        throw KafkaProtocolError.malformedVarint(context: context())
    }

    /// Reads a zig-zag encoded signed varint (32 bits).
    @inlinable
    public mutating func readVarint(context: @autoclosure () -> String) throws -> Int32 {
        let raw = try self.readUnsignedVarint(context: context())
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Reads a zig-zag encoded signed varlong (64 bits).
    @inlinable
    public mutating func readVarlong(context: @autoclosure () -> String) throws -> Int64 {
        let raw = try self.readUnsignedVarlong(context: context())
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inlinable
    public mutating func writeUnsignedVarint(_ value: UInt32) {
        self.writeUnsignedVarlong(UInt64(value))
    }

    @inlinable
    public mutating func writeUnsignedVarlong(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            self.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        self.writeInteger(UInt8(truncatingIfNeeded: v))
    }

    @inlinable
    public mutating func writeVarint(_ value: Int32) {
        self.writeUnsignedVarint(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    @inlinable
    public mutating func writeVarlong(_ value: Int64) {
        self.writeUnsignedVarlong(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// The number of bytes `writeUnsignedVarlong` writes for `value`.
    @inlinable
    public static func unsignedVarlongSize(_ value: UInt64) -> Int {
        var size = 1
        var v = value >> 7
        while v != 0 { size += 1; v >>= 7 }
        return size
    }

    /// The number of bytes `writeVarlong` writes for `value`.
    @inlinable
    public static func varlongSize(_ value: Int64) -> Int {
        unsignedVarlongSize(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }
}

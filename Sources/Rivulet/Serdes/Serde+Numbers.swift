import NIOCore

// Fixed-width numbers are big-endian, exactly as Kafka's Short/Integer/Long/Float/Double
// serializers write them, so records interoperate with JVM and librdkafka clients.

extension Serde where T == Int16 {
    /// Two bytes, big-endian (Kafka's `ShortSerde`).
    public static var int16: Serde<Int16> { fixedWidthInteger() }
}

extension Serde where T == Int32 {
    /// Four bytes, big-endian (Kafka's `IntegerSerde`).
    public static var int32: Serde<Int32> { fixedWidthInteger() }
}

extension Serde where T == Int64 {
    /// Eight bytes, big-endian (Kafka's `LongSerde`).
    public static var int64: Serde<Int64> {
        let serde: Serde<Int64> = fixedWidthInteger()
        return Serde(writer: serde.writer, reader: serde.reader, nullValue: nil, format: .bigEndianInt64)
    }
}

extension Serde where T == Float {
    /// The IEEE 754 bits in four bytes, big-endian (Kafka's `FloatSerde`).
    public static var float: Serde<Float> {
        Serde<UInt32>.fixedWidthInteger().map(to: { Float(bitPattern: $0) }, from: { $0.bitPattern })
    }
}

extension Serde where T == Double {
    /// The IEEE 754 bits in eight bytes, big-endian (Kafka's `DoubleSerde`).
    public static var double: Serde<Double> {
        Serde<UInt64>.fixedWidthInteger().map(to: { Double(bitPattern: $0) }, from: { $0.bitPattern })
    }
}

extension Serde where T == Bool {
    /// One byte, 1 for true and 0 for false (Kafka's `BooleanSerde`); any other byte is invalid.
    public static var bool: Serde<Bool> {
        Serde(
            serialize: { value, buffer in buffer.writeInteger(value ? 1 as UInt8 : 0) },
            deserialize: { bytes in
                guard bytes.readableBytes == 1 else {
                    throw SerdeError.wrongSize(type: "Bool", expected: 1, actual: bytes.readableBytes)
                }
                switch bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) {
                case 0: return false
                case 1: return true
                case let other: throw SerdeError.invalidEncoding(type: "Bool", reason: "byte \(other ?? 0) is neither 0 nor 1")
                }
            }
        )
    }
}

extension Serde where T: FixedWidthInteger & Sendable {
    /// Exactly `T.bitWidth / 8` bytes, big-endian; any other length is an error, never a guess.
    static func fixedWidthInteger() -> Serde<T> {
        let width = T.bitWidth / 8
        return Serde(
            serialize: { value, buffer in buffer.writeInteger(value, endianness: .big) },
            deserialize: { bytes in
                guard bytes.readableBytes == width,
                      let value = bytes.getInteger(at: bytes.readerIndex, endianness: .big, as: T.self)
                else { throw SerdeError.wrongSize(type: "\(T.self)", expected: width, actual: bytes.readableBytes) }
                return value
            }
        )
    }
}

import NIOCore

/// A value with the timestamp of the record that last wrote it: what a table's store keeps, so
/// that joins and aggregates can stamp their results with the right time.
public struct ValueAndTimestamp<Value> {
    // The timestamp first: its offset does not depend on the value type, so generic code reads
    // it without asking the runtime for the type's layout.
    public var timestamp: Int64
    public var value: Value

    public init(_ value: Value, timestamp: Int64) {
        self.value = value
        self.timestamp = timestamp
    }
}

extension ValueAndTimestamp: Sendable where Value: Sendable {}
extension ValueAndTimestamp: Equatable where Value: Equatable {}

/// The byte layout of a timestamped store value: the timestamp in eight big-endian bytes, then
/// the value's bytes (Kafka's timestamped key-value store format). The changelog carries the bare
/// value with the timestamp as the record's timestamp; restoration packs them again.
public enum TimestampedBytes {
    public static func pack(_ value: ByteBuffer, timestamp: Int64) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 8 + value.readableBytes)
        buffer.writeInteger(timestamp, endianness: .big)
        var value = value
        buffer.writeBuffer(&value)
        return buffer
    }

    /// The timestamp and the value of packed bytes; `nil` for bytes too short to be packed.
    public static func unpack(_ bytes: ByteBuffer) -> (value: ByteBuffer, timestamp: Int64)? {
        guard let timestamp = bytes.getInteger(at: bytes.readerIndex, endianness: .big, as: Int64.self),
              let value = bytes.getSlice(at: bytes.readerIndex + 8, length: bytes.readableBytes - 8)
        else { return nil }
        return (value, timestamp)
    }
}

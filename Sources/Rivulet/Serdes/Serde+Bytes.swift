import NIOCore

extension Serde where T == ByteBuffer {
    /// The bytes as they are. Deserializing returns the record's own slice: nothing is copied.
    public static var byteBuffer: Serde<ByteBuffer> {
        Serde(
            serialize: { value, buffer in
                var value = value
                buffer.writeBuffer(&value)
            },
            deserialize: { bytes in bytes }
        )
    }
}

extension Serde where T == [UInt8] {
    /// The bytes as they are (Kafka's `ByteArraySerde`).
    public static var bytes: Serde<[UInt8]> {
        Serde(
            serialize: { value, buffer in buffer.writeBytes(value) },
            deserialize: { bytes in Array(bytes.readableBytesView) }
        )
    }
}

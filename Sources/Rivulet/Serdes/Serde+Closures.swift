import NIOCore

extension Serde {
    /// A serde from closures over byte arrays, for formats that are simplest to write that way.
    /// Prefer ``init(serialize:deserialize:)`` on hot paths: it works on `ByteBuffer` without copies.
    public static func custom(
        serialize: @escaping @Sendable (T) throws -> [UInt8],
        deserialize: @escaping @Sendable ([UInt8]) throws -> T
    ) -> Serde<T> {
        Serde(
            serialize: { value, buffer in buffer.writeBytes(try serialize(value)) },
            deserialize: { bytes in try deserialize(Array(bytes.readableBytesView)) }
        )
    }
}

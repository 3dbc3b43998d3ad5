import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Serde where T == String {
    /// UTF-8 (Kafka's `StringSerde`). Malformed UTF-8 is repaired with U+FFFD, as the JVM's
    /// decoder does, rather than rejected.
    public static var string: Serde<String> {
        Serde(
            serialize: { value, buffer in buffer.writeString(value) },
            // Straight from the buffer's memory: a `readableBytesView` holds a copy of the
            // buffer, which costs a retain and a release per value.
            deserialize: { bytes in bytes.withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) } }
        )
    }
}

extension Serde where T == UUID {
    /// The 36-character textual form, lowercase, as Kafka's `UUIDSerializer` writes Java's
    /// `UUID.toString()`; either case is accepted when reading.
    public static var uuid: Serde<UUID> {
        Serde(
            serialize: { value, buffer in buffer.writeString(value.uuidString.lowercased()) },
            deserialize: { bytes in
                let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
                guard let uuid = UUID(uuidString: text) else {
                    throw SerdeError.invalidEncoding(type: "UUID", reason: "\"\(text)\" is not a UUID")
                }
                return uuid
            }
        )
    }
}

import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Serde {
    /// The serde the DSL uses for `T` when an operation needs one and none was given (Kafka's
    /// default serdes, but chosen by type): the built-in serde of a standard type, `optional` of
    /// it for an optional, JSON for any other `Codable`; `nil` when there is none.
    public static func inferred() -> Serde<T>? {
        switch T.self {
        case is String.Type: return Serde<String>.string as? Serde<T>
        case is Int64.Type: return Serde<Int64>.int64 as? Serde<T>
        case is Int32.Type: return Serde<Int32>.int32 as? Serde<T>
        case is Int16.Type: return Serde<Int16>.int16 as? Serde<T>
        case is Double.Type: return Serde<Double>.double as? Serde<T>
        case is Float.Type: return Serde<Float>.float as? Serde<T>
        case is Bool.Type: return Serde<Bool>.bool as? Serde<T>
        case is UUID.Type: return Serde<UUID>.uuid as? Serde<T>
        case is [UInt8].Type: return Serde<[UInt8]>.bytes as? Serde<T>
        case is ByteBuffer.Type: return Serde<ByteBuffer>.byteBuffer as? Serde<T>
        default: break
        }
        if let optional = T.self as? any OptionalSerdeInferable.Type {
            return optional.inferredOptionalSerde() as? Serde<T>
        }
        if let codable = T.self as? any (Codable & SendableMetatype).Type {
            return jsonSerde(for: codable) as? Serde<T>
        }
        return nil
    }
}

/// Lets `Serde.inferred()` reach the wrapped type of an optional.
protocol OptionalSerdeInferable {
    static func inferredOptionalSerde() -> Any?
}

extension Optional: OptionalSerdeInferable {
    static func inferredOptionalSerde() -> Any? {
        guard let wrapped = Serde<Wrapped>.inferred() else { return nil }
        return Serde<Wrapped?>.optional(wrapped)
    }
}

private func jsonSerde<C: Codable & SendableMetatype>(for type: C.Type) -> Any {
    Serde<C>.json()
}

import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Serde where T: Codable & SendableMetatype {
    /// Any `Codable` type as JSON. The default encoder sorts keys, so equal values always give
    /// equal bytes (which matters for keys: stores and partitioners compare bytes).
    public static func json(
        _ type: T.Type = T.self,
        encoder: JSONEncoder = Serde.sortedKeysEncoder(),
        decoder: JSONDecoder = JSONDecoder()
    ) -> Serde<T> {
        Serde(
            serialize: { value, buffer in buffer.writeBytes(try encoder.encode(value)) },
            deserialize: { bytes in
                do {
                    return try decoder.decode(T.self, from: Data(bytes.readableBytesView))
                } catch {
                    throw SerdeError.invalidEncoding(type: "\(T.self)", reason: "\(error)")
                }
            }
        )
    }

    /// A JSON encoder with sorted keys.
    public static func sortedKeysEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

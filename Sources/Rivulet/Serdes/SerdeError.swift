/// Why bytes could not become a value, or a value bytes.
public enum SerdeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Null bytes reached a serde of a non-optional type; wrap the serde in `Serde.optional(_:)`
    /// where null is a legitimate value (keyless records, tombstones).
    case unexpectedNull(type: String)
    /// A fixed-width serde received the wrong number of bytes (Kafka's "Size of data received by
    /// LongDeserializer is not 8").
    case wrongSize(type: String, expected: Int, actual: Int)
    /// The bytes are not a valid encoding of the type.
    case invalidEncoding(type: String, reason: String)

    public var description: String {
        switch self {
        case .unexpectedNull(let type):
            return "null bytes for non-optional \(type); use Serde.optional(_:) where null is expected"
        case .wrongSize(let type, let expected, let actual):
            return "size of data received for \(type) is \(actual), not \(expected)"
        case .invalidEncoding(let type, let reason):
            return "invalid \(type) encoding: \(reason)"
        }
    }
}

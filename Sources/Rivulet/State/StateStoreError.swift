/// Failures of state stores.
public enum StateStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case notOpen(store: String)
    /// A key serialized to null: stores have no null keys.
    case nullKey(store: String)
    /// RocksDB reported an error (the message is RocksDB's own).
    case rocksDB(store: String, operation: String, message: String)
    /// A processor asked for a store that does not exist or is not connected to it.
    case unknownStore(store: String, processor: String)
    /// A store exists but is not of the type asked for.
    case wrongType(store: String, expected: String, actual: String)
    /// A checkpoint file could not be read or written.
    case checkpoint(path: String, reason: String)

    public var description: String {
        switch self {
        case .notOpen(let store): return "store \(store) is not open"
        case .nullKey(let store): return "store \(store) does not take null keys"
        case .rocksDB(let store, let operation, let message): return "RocksDB \(operation) failed for store \(store): \(message)"
        case .unknownStore(let store, let processor):
            return "processor \(processor) has no access to store \(store): connect them in the topology"
        case .wrongType(let store, let expected, let actual): return "store \(store) is \(actual), not \(expected)"
        case .checkpoint(let path, let reason): return "checkpoint \(path): \(reason)"
        }
    }
}

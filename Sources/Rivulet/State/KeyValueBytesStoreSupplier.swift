/// Makes the byte-level store at the bottom of a key-value store's layers, once per task.
public struct KeyValueBytesStoreSupplier: Sendable {
    public let name: String
    public let persistent: Bool
    private let make: @Sendable (String) -> any KeyValueStore

    /// A supplier of any store: `make` receives the store name and returns a new, unopened store.
    public init(name: String, persistent: Bool, make: @escaping @Sendable (String) -> any KeyValueStore) {
        self.name = name
        self.persistent = persistent
        self.make = make
    }

    /// A new, unopened store.
    public func get() -> any KeyValueStore { make(name) }

    /// RocksDB, in the task's state directory.
    public static func rocksDB(_ name: String) -> KeyValueBytesStoreSupplier {
        KeyValueBytesStoreSupplier(name: name, persistent: true) { RocksDBKeyValueStore(name: $0) }
    }

    /// Memory only; rebuilt from the changelog after a restart.
    public static func inMemory(_ name: String) -> KeyValueBytesStoreSupplier {
        KeyValueBytesStoreSupplier(name: name, persistent: false) { InMemoryKeyValueStore(name: $0) }
    }
}

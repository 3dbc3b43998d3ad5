/// Which kind of store backs a DSL table.
public enum DSLStoreType: Sendable {
    /// RocksDB, in the state directory (the default).
    case rocksDB
    /// Memory, rebuilt from the changelog after a restart.
    case inMemory
}

/// Which store backs a table and how: its name (for interactive queries and the changelog
/// `<application.id>-<name>-changelog`), serdes, kind, caching and logging.
///
/// Caching and logging are on by default, as in Kafka Streams: a cached table emits one update
/// per key per commit.
public struct Materialized<Key, Value>: Sendable {
    public typealias StoreType = DSLStoreType

    public var storeName: String?
    public var keySerde: Serde<Key>?
    public var valueSerde: Serde<Value>?
    /// `nil`: the builder's default.
    public var storeType: StoreType?
    /// A custom bytes store (its name wins over ``storeName``).
    public var supplier: KeyValueBytesStoreSupplier?
    public var cachingEnabled = true
    public var loggingEnabled = true
    public var changelogConfig: [String: String] = [:]

    /// A store name and serdes; `nil` ones are generated, taken from upstream or inferred.
    public init(storeName: String? = nil, keySerde: Serde<Key>? = nil, valueSerde: Serde<Value>? = nil) {
        self.storeName = storeName
        self.keySerde = keySerde
        self.valueSerde = valueSerde
    }

    /// Names the store (and its changelog `<application.id>-<name>-changelog`).
    public static func `as`(_ storeName: String) -> Materialized {
        Materialized(storeName: storeName)
    }

    /// Uses a custom bytes store, named as it is.
    public static func `as`(_ supplier: KeyValueBytesStoreSupplier) -> Materialized {
        var materialized = Materialized(storeName: supplier.name)
        materialized.supplier = supplier
        return materialized
    }

    /// Stores keys and values with these serdes, in a store with a generated name.
    public static func with(_ keySerde: Serde<Key>, _ valueSerde: Serde<Value>) -> Materialized {
        Materialized(keySerde: keySerde, valueSerde: valueSerde)
    }

    /// Stores keys with `serde`.
    public func withKeySerde(_ serde: Serde<Key>) -> Materialized {
        var copy = self
        copy.keySerde = serde
        return copy
    }

    /// Stores values with `serde`.
    public func withValueSerde(_ serde: Serde<Value>) -> Materialized {
        var copy = self
        copy.valueSerde = serde
        return copy
    }

    /// Uses RocksDB or memory, whatever the builder's default.
    public func withStoreType(_ type: StoreType) -> Materialized {
        var copy = self
        copy.storeType = type
        return copy
    }

    /// Folds updates per key until each commit (the default).
    public func withCachingEnabled() -> Materialized {
        var copy = self
        copy.cachingEnabled = true
        return copy
    }

    /// Emits every update as it happens.
    public func withCachingDisabled() -> Materialized {
        var copy = self
        copy.cachingEnabled = false
        return copy
    }

    /// Backs the store up to its changelog topic, created with `config` on top of compaction (the default).
    public func withLoggingEnabled(_ config: [String: String] = [:]) -> Materialized {
        var copy = self
        copy.loggingEnabled = true
        copy.changelogConfig = config
        return copy
    }

    /// No changelog: the store cannot be restored on another instance.
    public func withLoggingDisabled() -> Materialized {
        var copy = self
        copy.loggingEnabled = false
        return copy
    }
}

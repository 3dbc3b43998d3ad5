/// Describes a typed key-value store for a topology (Kafka's `StoreBuilder`): the bytes store,
/// the serdes, and the layers on top. Logging is on and caching off unless changed.
public struct KeyValueStoreBuilder<Key, Value>: StoreBuilding {
    public let supplier: KeyValueBytesStoreSupplier
    public let keySerde: Serde<Key>
    public let valueSerde: Serde<Value>
    /// Whether values keep the timestamp of the record that wrote them (DSL tables do).
    public let timestamped: Bool
    public private(set) var loggingEnabled = true
    public private(set) var changelogConfig: [String: String] = [:]
    public private(set) var cachingEnabled = false

    public init(supplier: KeyValueBytesStoreSupplier, keySerde: Serde<Key>, valueSerde: Serde<Value>, timestamped: Bool = false) {
        self.supplier = supplier
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.timestamped = timestamped
    }

    public var name: String { supplier.name }

    /// Puts the record cache in front of the store.
    public func withCachingEnabled() -> Self {
        var copy = self
        copy.cachingEnabled = true
        return copy
    }

    public func withCachingDisabled() -> Self {
        var copy = self
        copy.cachingEnabled = false
        return copy
    }

    /// Logs writes to the changelog topic, created with `config` on top of compaction.
    public func withLoggingEnabled(_ config: [String: String] = [:]) -> Self {
        var copy = self
        copy.loggingEnabled = true
        copy.changelogConfig = config
        return copy
    }

    /// No changelog: the store cannot be restored elsewhere (nor, if in memory, after a restart).
    public func withLoggingDisabled() -> Self {
        var copy = self
        copy.loggingEnabled = false
        return copy
    }

    public var storeDefinition: StoreDefinition {
        let builder = self
        return StoreDefinition(
            name: name,
            persistent: supplier.persistent,
            loggingEnabled: loggingEnabled,
            changelogConfig: changelogConfig
        ) { builder.build() }
    }

    /// A fresh instance: bytes store, then logging, then caching, then the typed facade.
    func build() -> BuiltStore {
        let bottom = supplier.get()
        var layered: any KeyValueStore = bottom
        if loggingEnabled {
            layered = ChangeLoggingKeyValueStore(wrapping: layered, format: timestamped ? .timestamped : .plain)
        }
        if cachingEnabled {
            layered = CachingKeyValueStore(wrapping: layered)
        }
        let typed = TypedKeyValueStore(bytes: layered, keySerde: keySerde, valueSerde: valueSerde, timestamped: timestamped)
        let timestamped = self.timestamped
        return BuiltStore(store: typed) { records in
            try bottom.putAll(records.map { record in
                let value = timestamped
                    ? record.value.map { TimestampedBytes.pack($0, timestamp: record.timestamp) }
                    : record.value
                return KeyValue(record.key, value)
            })
        }
    }
}

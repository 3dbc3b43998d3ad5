/// Factories for stores, named as in Kafka Streams' `Stores`.
public enum Stores {
    /// A RocksDB store.
    public static func persistentKeyValueStore(_ name: String) -> KeyValueBytesStoreSupplier {
        .rocksDB(name)
    }

    /// A store in memory.
    public static func inMemoryKeyValueStore(_ name: String) -> KeyValueBytesStoreSupplier {
        .inMemory(name)
    }

    /// A typed key-value store over `supplier`.
    public static func keyValueStoreBuilder<Key, Value>(
        _ supplier: KeyValueBytesStoreSupplier, keySerde: Serde<Key>, valueSerde: Serde<Value>
    ) -> KeyValueStoreBuilder<Key, Value> {
        KeyValueStoreBuilder(supplier: supplier, keySerde: keySerde, valueSerde: valueSerde)
    }

    /// A typed key-value store whose values keep their timestamps.
    public static func timestampedKeyValueStoreBuilder<Key, Value>(
        _ supplier: KeyValueBytesStoreSupplier, keySerde: Serde<Key>, valueSerde: Serde<Value>
    ) -> KeyValueStoreBuilder<Key, Value> {
        KeyValueStoreBuilder(supplier: supplier, keySerde: keySerde, valueSerde: valueSerde, timestamped: true)
    }
}

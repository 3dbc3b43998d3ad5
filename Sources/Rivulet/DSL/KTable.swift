/// A changelog stream seen as a table: the latest value per key (Kafka Streams' `KTable<K, V>`).
///
/// Updates flow downstream as (new value, old value) pairs, so operations on tables stay correct
/// when rows change or disappear. A table materialized with caching (the default for source
/// tables and aggregations) emits at most one update per key per commit.
public struct KTable<Key, Value> {
    let builder: StreamsBuilder
    let nodeName: String
    let keySerde: Serde<Key>?
    let valueSerde: Serde<Value>?
    /// How joins and derived tables read this table's current values.
    let valueGetter: TableValueGetterSupplier<Key, Value>
    /// The sources this table comes from within its sub-topology (for co-partitioning).
    let sourceNodes: [String]
    /// The store that materializes the table, if it has one.
    public let storeName: String?

    /// A table with values transformed. Materialized only if `materialized` is given.
    public func mapValues<NewValue>(
        named: String? = nil, _ materialized: Materialized<Key, NewValue>? = nil,
        _ mapper: @escaping @Sendable (Value) throws -> NewValue
    ) -> KTable<Key, NewValue> {
        mapValues(named: named, materialized) { _, value in try mapper(value) }
    }

    /// A table with values transformed from key and value.
    public func mapValues<NewValue>(
        named: String? = nil, _ materialized: Materialized<Key, NewValue>? = nil,
        _ mapper: @escaping @Sendable (Key, Value) throws -> NewValue
    ) -> KTable<Key, NewValue> {
        derived(prefix: "KTABLE-MAPVALUES-", named: named, materialized, valueSerde: nil) { key, value in
            try mapper(key, value)
        }
    }

    /// The rows that satisfy `predicate`; a row that stops satisfying it is deleted downstream.
    public func filter(
        named: String? = nil, _ materialized: Materialized<Key, Value>? = nil,
        _ predicate: @escaping @Sendable (Key, Value) throws -> Bool
    ) -> KTable {
        derived(prefix: "KTABLE-FILTER-", named: named, materialized, valueSerde: valueSerde) { key, value in
            try predicate(key, value) ? value : nil
        }
    }

    /// The rows that do not satisfy `predicate`.
    public func filterNot(
        named: String? = nil, _ materialized: Materialized<Key, Value>? = nil,
        _ predicate: @escaping @Sendable (Key, Value) throws -> Bool
    ) -> KTable {
        derived(prefix: "KTABLE-FILTER-", named: named, materialized, valueSerde: valueSerde) { key, value in
            try predicate(key, value) ? nil : value
        }
    }

    /// The table's updates as a stream of new values; a deleted row is a `nil` value (a tombstone).
    public func toStream(named: String? = nil) -> KStream<Key, Value?> {
        let name = builder.addProcessor(named ?? builder.newName("KTABLE-TOSTREAM-"), parents: [nodeName]) {
            ClosureProcessor<Key, Change<Value>, Key, Value?> { record, context in
                try context.forward(record.withValue(record.value.newValue))
            }
        }
        return KStream(builder: builder, nodeName: name, keySerde: keySerde,
                       valueSerde: valueSerde.map { Serde<Value?>.optional($0) },
                       repartitionRequired: false, sourceNodes: sourceNodes)
    }

    private func derived<NewValue>(
        prefix: String, named: String?, _ materialized: Materialized<Key, NewValue>?, valueSerde carried: Serde<NewValue>?,
        _ transform: @escaping @Sendable (Key, Value) throws -> NewValue?
    ) -> KTable<Key, NewValue> {
        let name = named ?? builder.newName(prefix)
        var storeName: String?
        if let materialized {
            storeName = materialized.supplier?.name ?? materialized.storeName ?? builder.newStoreName("\(prefix)STATE-STORE-")
        }
        builder.addProcessor(name, parents: [nodeName]) { [storeName] in
            TableTransformProcessor<Key, Value, NewValue>(storeName: storeName, transform: transform)
        }
        var keys = keySerde
        var values = carried
        let getter: TableValueGetterSupplier<Key, NewValue>
        if let materialized, let storeName {
            let storeKeys = builder.serde(materialized.keySerde, keySerde, for: "store of \(name)")
            let storeValues = builder.serde(materialized.valueSerde, carried, for: "store of \(name)")
            builder.attempt {
                try builder.topology.addStateStore(
                    builder.storeBuilder(storeName, materialized, keySerde: storeKeys, valueSerde: storeValues), connectedTo: [name]
                )
            }
            keys = storeKeys
            values = storeValues
            getter = .store(storeName)
        } else {
            getter = valueGetter.map(transform)
        }
        return KTable<Key, NewValue>(builder: builder, nodeName: name, keySerde: keys, valueSerde: values,
                                     valueGetter: getter, sourceNodes: sourceNodes, storeName: storeName)
    }
}

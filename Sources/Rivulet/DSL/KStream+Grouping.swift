extension KStream {
    /// Groups by the current key, for an aggregation. If the key changed upstream, records go
    /// through a repartition topic first (named from `grouped`, else from the store).
    public func groupByKey(_ grouped: Grouped<Key, Value> = Grouped()) -> KGroupedStream<Key, Value> {
        KGroupedStream(
            stream: self, grouped: grouped,
            keySerde: grouped.keySerde ?? keySerde, valueSerde: grouped.valueSerde ?? valueSerde,
            repartitionRequired: repartitionRequired
        )
    }

    /// Groups by a new key computed from key and value; records are always repartitioned by it.
    @inlinable
    public func groupBy<NewKey>(
        _ grouped: Grouped<NewKey, Value> = Grouped(), _ selector: @escaping @Sendable (Key, Value) throws -> NewKey
    ) -> KGroupedStream<NewKey, Value> {
        selectKey(selector).groupByKey(Grouped(name: grouped.name, keySerde: grouped.keySerde, valueSerde: grouped.valueSerde ?? valueSerde))
    }
}

/// A stream grouped by key, ready to aggregate into a table (Kafka's `KGroupedStream`).
public struct KGroupedStream<Key, Value> {
    @usableFromInline let stream: KStream<Key, Value>
    @usableFromInline let grouped: Grouped<Key, Value>
    @usableFromInline let keySerde: Serde<Key>?
    @usableFromInline let valueSerde: Serde<Value>?
    @usableFromInline let repartitionRequired: Bool

    // The aggregations are `@inlinable`: the processor is then created, and its per-record path
    // compiled, in the application's module, specialised for its types.

    /// Counts records per key (records with a null key or value are not counted).
    @inlinable @discardableResult
    public func count(named: String? = nil, _ materialized: Materialized<Key, Int64> = Materialized()) -> KTable<Key, Int64> {
        var materialized = materialized
        materialized.valueSerde = materialized.valueSerde ?? .int64
        return aggregate(named: named, prefix: "KSTREAM-AGGREGATE-", materialized) { _, _, count in (count ?? 0) + 1 }
    }

    /// Combines the values of each key: the first value as is, then `reducer(aggregate, value)`.
    @inlinable @discardableResult
    public func reduce(
        named: String? = nil, _ materialized: Materialized<Key, Value> = Materialized(),
        _ reducer: @escaping @Sendable (Value, Value) throws -> Value
    ) -> KTable<Key, Value> {
        var materialized = materialized
        materialized.valueSerde = materialized.valueSerde ?? valueSerde
        return aggregate(named: named, prefix: "KSTREAM-REDUCE-", materialized) { _, value, current in
            guard let current else { return value }
            return try reducer(current, value)
        }
    }

    /// Folds the values of each key into an aggregate, starting from `initializer()`.
    @inlinable @discardableResult
    public func aggregate<Aggregate>(
        named: String? = nil, _ materialized: Materialized<Key, Aggregate> = Materialized(),
        initializer: @escaping @Sendable () throws -> Aggregate,
        _ aggregator: @escaping @Sendable (Key, Value, Aggregate) throws -> Aggregate
    ) -> KTable<Key, Aggregate> {
        aggregate(named: named, prefix: "KSTREAM-AGGREGATE-", materialized) { key, value, current in
            try aggregator(key, value, current ?? initializer())
        }
    }

    @inlinable
    func aggregate<Aggregate>(
        named: String?, prefix: String, _ materialized: Materialized<Key, Aggregate>,
        step: @escaping @Sendable (Key, Value, Aggregate?) throws -> Aggregate
    ) -> KTable<Key, Aggregate> {
        let node = aggregationNode(named: named, prefix: prefix, materialized)
        let storeName = node.storeName
        node.builder.addProcessor(node.name, parents: [node.parent]) {
            StreamAggregateProcessor<Key, Value, Aggregate>(storeName: storeName, step: step)
        }
        return node.finish()
    }

    /// The aggregation's names, input and store serdes (see ``AggregationNode``).
    /// `@inlinable` too: the repartition's sink and source are then specialised like the processor.
    @inlinable
    func aggregationNode<Aggregate>(
        named: String?, prefix: String, _ materialized: Materialized<Key, Aggregate>
    ) -> AggregationNode<Key, Aggregate> {
        let builder = stream.builder
        let storeName = materialized.supplier?.name ?? materialized.storeName ?? builder.newStoreName("\(prefix)STATE-STORE-")
        let input = repartitionRequired
            ? stream.repartitionForKey(named: grouped.name ?? storeName, keySerde: keySerde, valueSerde: valueSerde)
            : stream
        let name = named ?? builder.newName(prefix)
        let keys = builder.serde(materialized.keySerde, keySerde ?? input.keySerde, for: "aggregation store \(storeName)")
        let values = builder.serde(materialized.valueSerde, nil as Serde<Aggregate>?, for: "aggregation store \(storeName)")
        return AggregationNode(
            builder: builder, name: name, storeName: storeName, parent: input.nodeName, sourceNodes: input.sourceNodes,
            keySerde: keys, valueSerde: values, materialized: materialized
        )
    }
}

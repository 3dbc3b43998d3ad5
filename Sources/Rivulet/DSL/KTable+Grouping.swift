extension KTable {
    /// Regroups the table's rows under new keys, for an aggregation with adder and subtractor:
    /// when a row changes, its old value is subtracted from its old group and its new value added
    /// to its new group. Always repartitions.
    public func groupBy<NewKey, NewValue>(
        _ grouped: Grouped<NewKey, NewValue> = Grouped(),
        _ selector: @escaping @Sendable (Key, Value) throws -> (NewKey, NewValue)
    ) -> KGroupedTable<NewKey, NewValue> {
        let keys = builder.serde(grouped.keySerde, nil, for: "KTable.groupBy")
        let values = builder.serde(grouped.valueSerde, nil, for: "KTable.groupBy")
        let name = builder.addProcessor(builder.newName("KTABLE-SELECT-"), parents: [nodeName]) {
            TableRegroupProcessor<Key, Value, NewKey, NewValue>(selector: selector, keySerde: keys)
        }
        return KGroupedTable(builder: builder, nodeName: name, name: grouped.name, keySerde: keys, valueSerde: values)
    }
}

/// A table regrouped by a new key, ready to aggregate (Kafka's `KGroupedTable`).
public struct KGroupedTable<Key, Value> {
    let builder: StreamsBuilder
    /// The node emitting regrouped updates.
    let nodeName: String
    let name: String?
    let keySerde: Serde<Key>
    @usableFromInline let valueSerde: Serde<Value>

    // The aggregations are `@inlinable`, as ``KGroupedStream``'s are.

    /// Counts the rows per group.
    @inlinable @discardableResult
    public func count(named: String? = nil, _ materialized: Materialized<Key, Int64> = Materialized()) -> KTable<Key, Int64> {
        var materialized = materialized
        materialized.valueSerde = materialized.valueSerde ?? .int64
        return aggregate(named: named, prefix: "KTABLE-AGGREGATE-", materialized,
                         add: { _, _, count in (count ?? 0) + 1 },
                         subtract: { _, _, count in (count ?? 0) - 1 })
    }

    /// Combines the values of each group with `adder`, taking replaced or removed values out
    /// with `subtractor`.
    @inlinable @discardableResult
    public func reduce(
        named: String? = nil, _ materialized: Materialized<Key, Value> = Materialized(),
        adder: @escaping @Sendable (Value, Value) throws -> Value,
        subtractor: @escaping @Sendable (Value, Value) throws -> Value
    ) -> KTable<Key, Value> {
        var materialized = materialized
        materialized.valueSerde = materialized.valueSerde ?? valueSerde
        return aggregate(named: named, prefix: "KTABLE-REDUCE-", materialized,
                         add: { _, value, current in try current.map { try adder($0, value) } ?? value },
                         subtract: { _, value, current in try current.map { try subtractor($0, value) } })
    }

    /// Folds each group's values into an aggregate from `initializer()`, with `adder` for values
    /// that join the group and `subtractor` for values that leave it.
    @inlinable @discardableResult
    public func aggregate<Aggregate>(
        named: String? = nil, _ materialized: Materialized<Key, Aggregate> = Materialized(),
        initializer: @escaping @Sendable () throws -> Aggregate,
        adder: @escaping @Sendable (Key, Value, Aggregate) throws -> Aggregate,
        subtractor: @escaping @Sendable (Key, Value, Aggregate) throws -> Aggregate
    ) -> KTable<Key, Aggregate> {
        aggregate(named: named, prefix: "KTABLE-AGGREGATE-", materialized,
                  add: { key, value, current in try adder(key, value, current ?? initializer()) },
                  subtract: { key, value, current in try subtractor(key, value, current ?? initializer()) })
    }

    @inlinable
    func aggregate<Aggregate>(
        named: String?, prefix: String, _ materialized: Materialized<Key, Aggregate>,
        add: @escaping @Sendable (Key, Value, Aggregate?) throws -> Aggregate,
        subtract: @escaping @Sendable (Key, Value, Aggregate?) throws -> Aggregate?
    ) -> KTable<Key, Aggregate> {
        let node = aggregationNode(named: named, prefix: prefix, materialized)
        let storeName = node.storeName
        node.builder.addProcessor(node.name, parents: [node.parent]) {
            TableAggregateProcessor<Key, Value, Aggregate>(storeName: storeName, add: add, subtract: subtract)
        }
        return node.finish()
    }

    /// The aggregation's names, input and store serdes (see ``AggregationNode``).
    @usableFromInline
    func aggregationNode<Aggregate>(
        named: String?, prefix: String, _ materialized: Materialized<Key, Aggregate>
    ) -> AggregationNode<Key, Aggregate> {
        let storeName = materialized.supplier?.name ?? materialized.storeName ?? builder.newStoreName("\(prefix)STATE-STORE-")
        let regrouped = KStream<Key, Change<Value>>(
            builder: builder, nodeName: nodeName, keySerde: keySerde, valueSerde: .change(valueSerde),
            repartitionRequired: true, sourceNodes: []
        )
        let input = builder.repartition(
            regrouped, topicBase: name ?? storeName, keySerde: keySerde, valueSerde: .change(valueSerde),
            partitions: nil, partitioner: nil, dropNullKeys: true
        )
        let aggregateName = named ?? builder.newName(prefix)
        let values = builder.serde(materialized.valueSerde, nil as Serde<Aggregate>?, for: "aggregation store \(storeName)")
        let keys = materialized.keySerde ?? keySerde
        return AggregationNode(
            builder: builder, name: aggregateName, storeName: storeName, parent: input.nodeName,
            sourceNodes: input.sourceNodes, keySerde: keys, valueSerde: values, materialized: materialized
        )
    }
}

extension KStream {
    /// Joins every record with the table's current value for its key; records without a table
    /// value are dropped. Table updates produce nothing by themselves: they affect later records.
    /// The stream and table topics must be co-partitioned; a stream whose key changed is
    /// repartitioned first.
    public func join<TableValue, Result>(
        _ table: KTable<Key, TableValue>, _ joined: Joined<Key, Value, TableValue> = Joined(),
        _ joiner: @escaping @Sendable (Value, TableValue) throws -> Result
    ) -> KStream<Key, Result> {
        joinTable(table, joined, kind: .inner, prefix: "KSTREAM-JOIN-") { _, value, tableValue in
            try joiner(value, tableValue!)
        }
    }

    /// Like ``join(_:_:_:)``, with the key passed to the joiner.
    public func join<TableValue, Result>(
        _ table: KTable<Key, TableValue>, _ joined: Joined<Key, Value, TableValue> = Joined(),
        _ joiner: @escaping @Sendable (Key, Value, TableValue) throws -> Result
    ) -> KStream<Key, Result> {
        joinTable(table, joined, kind: .inner, prefix: "KSTREAM-JOIN-") { key, value, tableValue in
            try joiner(key, value, tableValue!)
        }
    }

    /// Joins every record with the table's current value for its key, or with `nil` when the
    /// table has none: no record is dropped (but records with a null value).
    public func leftJoin<TableValue, Result>(
        _ table: KTable<Key, TableValue>, _ joined: Joined<Key, Value, TableValue> = Joined(),
        _ joiner: @escaping @Sendable (Value, TableValue?) throws -> Result
    ) -> KStream<Key, Result> {
        joinTable(table, joined, kind: .left, prefix: "KSTREAM-LEFTJOIN-") { _, value, tableValue in
            try joiner(value, tableValue)
        }
    }

    /// Like ``leftJoin(_:_:_:)``, with the key passed to the joiner.
    public func leftJoin<TableValue, Result>(
        _ table: KTable<Key, TableValue>, _ joined: Joined<Key, Value, TableValue> = Joined(),
        _ joiner: @escaping @Sendable (Key, Value, TableValue?) throws -> Result
    ) -> KStream<Key, Result> {
        joinTable(table, joined, kind: .left, prefix: "KSTREAM-LEFTJOIN-", joiner)
    }

    private func joinTable<TableValue, Result>(
        _ table: KTable<Key, TableValue>, _ joined: Joined<Key, Value, TableValue>, kind: JoinKind, prefix: String,
        _ joiner: @escaping @Sendable (Key, Value, TableValue?) throws -> Result
    ) -> KStream<Key, Result> {
        let input = repartitionRequired
            ? repartitionForKey(named: joined.name ?? nodeName, keySerde: joined.keySerde ?? table.keySerde,
                                valueSerde: joined.valueSerde)
            : self
        let getter = table.valueGetter
        let name = builder.addProcessor(joined.name ?? builder.newName(prefix), parents: [input.nodeName], stores: getter.storeNames) {
            StreamTableJoinProcessor<Key, Value, TableValue, Result>(table: getter, kind: kind, joiner: joiner)
        }
        builder.topology.copartition(sources: input.sourceNodes + table.sourceNodes)
        return KStream<Key, Result>(
            builder: builder, nodeName: name, keySerde: input.keySerde ?? table.keySerde, valueSerde: nil,
            repartitionRequired: false, sourceNodes: input.sourceNodes
        )
    }
}

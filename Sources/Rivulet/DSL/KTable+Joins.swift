extension KTable {
    /// A table of the keys present in both tables, with values `joiner(this, other)`. Updates on
    /// either side update the result; a row deleted on either side is deleted from it.
    public func join<OtherValue, Result>(
        _ other: KTable<Key, OtherValue>, named: String? = nil, _ materialized: Materialized<Key, Result>? = nil,
        _ joiner: @escaping @Sendable (Value, OtherValue) throws -> Result
    ) -> KTable<Key, Result> {
        joinTables(other, kind: .inner, prefixes: ("KTABLE-JOINTHIS-", "KTABLE-JOINOTHER-"), named: named, materialized) { this, other in
            try joiner(this!, other!)
        }
    }

    /// A table of the keys of this table, with values `joiner(this, other or nil)`.
    public func leftJoin<OtherValue, Result>(
        _ other: KTable<Key, OtherValue>, named: String? = nil, _ materialized: Materialized<Key, Result>? = nil,
        _ joiner: @escaping @Sendable (Value, OtherValue?) throws -> Result
    ) -> KTable<Key, Result> {
        joinTables(other, kind: .left, prefixes: ("KTABLE-LEFTTHIS-", "KTABLE-LEFTOTHER-"), named: named, materialized) { this, other in
            try joiner(this!, other)
        }
    }

    /// A table of the keys of either table, with values `joiner(this or nil, other or nil)`.
    public func outerJoin<OtherValue, Result>(
        _ other: KTable<Key, OtherValue>, named: String? = nil, _ materialized: Materialized<Key, Result>? = nil,
        _ joiner: @escaping @Sendable (Value?, OtherValue?) throws -> Result
    ) -> KTable<Key, Result> {
        joinTables(other, kind: .outer, prefixes: ("KTABLE-OUTERTHIS-", "KTABLE-OUTEROTHER-"), named: named, materialized, joiner)
    }

    /// Two join processors (one per side, each looking up the other side's current value) and a
    /// merge node that optionally materializes the result.
    private func joinTables<OtherValue, Result>(
        _ other: KTable<Key, OtherValue>, kind: JoinKind, prefixes: (String, String), named: String?,
        _ materialized: Materialized<Key, Result>?,
        _ joiner: @escaping @Sendable (Value?, OtherValue?) throws -> Result
    ) -> KTable<Key, Result> {
        let mergeName = named ?? builder.newName("KTABLE-MERGE-")
        let thisName = builder.newName(prefixes.0)
        let otherName = builder.newName(prefixes.1)
        let thisGetter = valueGetter
        let otherGetter = other.valueGetter
        builder.addProcessor(thisName, parents: [nodeName], stores: otherGetter.storeNames) {
            TableTableJoinProcessor<Key, Value, OtherValue, Result>(other: otherGetter) { this, that in
                try kind.combine(this, that, joiner)
            }
        }
        builder.addProcessor(otherName, parents: [other.nodeName], stores: thisGetter.storeNames) {
            TableTableJoinProcessor<Key, OtherValue, Value, Result>(other: thisGetter) { that, this in
                try kind.combine(this, that, joiner)
            }
        }
        var storeName: String?
        if let materialized {
            storeName = materialized.supplier?.name ?? materialized.storeName ?? builder.newStoreName("KTABLE-MERGE-STATE-STORE-")
        }
        builder.addProcessor(mergeName, parents: [thisName, otherName]) { [storeName] in
            TableTransformProcessor<Key, Result, Result>(storeName: storeName) { _, value in value }
        }
        builder.topology.copartition(sources: sourceNodes + other.sourceNodes)

        let keys = keySerde ?? other.keySerde
        var values: Serde<Result>?
        let getter: TableValueGetterSupplier<Key, Result>
        if let materialized, let storeName {
            let storeValues = builder.serde(materialized.valueSerde, nil, for: "store of \(mergeName)")
            let storeKeys = builder.serde(materialized.keySerde, keys, for: "store of \(mergeName)")
            builder.attempt {
                try builder.topology.addStateStore(
                    builder.storeBuilder(storeName, materialized, keySerde: storeKeys, valueSerde: storeValues),
                    connectedTo: [mergeName]
                )
            }
            values = storeValues
            getter = .store(storeName)
        } else {
            getter = TableValueGetterSupplier(storeNames: thisGetter.storeNames + otherGetter.storeNames) { lookup in
                let this = try thisGetter.make(lookup)
                let that = try otherGetter.make(lookup)
                return { key in
                    let left = try this(key)
                    let right = try that(key)
                    guard let value = try kind.combine(left?.value, right?.value, joiner) else { return nil }
                    return ValueAndTimestamp(value, timestamp: max(left?.timestamp ?? .min, right?.timestamp ?? .min))
                }
            }
        }
        return KTable<Key, Result>(builder: builder, nodeName: mergeName, keySerde: keys, valueSerde: values,
                                   valueGetter: getter, sourceNodes: Array(Set(sourceNodes + other.sourceNodes)).sorted(),
                                   storeName: storeName)
    }
}

/// A record stream: every record is an independent event (Kafka Streams' `KStream<K, V>`).
///
/// Operations return new streams and add nodes to the builder's topology. Closures run on the
/// task's stream thread for every record; one that blocks holds up that thread's tasks (and
/// nothing else: stream threads are threads of their own). They are `@Sendable` because a
/// topology is shared by all tasks. A key that may be absent is an optional key type (see
/// ``Serde/optional(_:)``).
public struct KStream<Key, Value> {
    @usableFromInline let builder: StreamsBuilder
    /// The node whose output this stream is.
    @usableFromInline let nodeName: String
    @usableFromInline let keySerde: Serde<Key>?
    @usableFromInline let valueSerde: Serde<Value>?
    /// Whether the key may have changed since the source: grouping or joining then goes through
    /// a repartition topic first, so that equal keys meet in the same partition.
    @usableFromInline let repartitionRequired: Bool
    /// The sources this stream comes from within its sub-topology (for co-partitioning).
    @usableFromInline let sourceNodes: [String]

    @usableFromInline
    init(
        builder: StreamsBuilder, nodeName: String, keySerde: Serde<Key>?, valueSerde: Serde<Value>?,
        repartitionRequired: Bool, sourceNodes: [String]
    ) {
        self.builder = builder
        self.nodeName = nodeName
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.repartitionRequired = repartitionRequired
        self.sourceNodes = sourceNodes
    }

    @usableFromInline
    func derived<K2, V2>(
        _ name: String, keySerde: Serde<K2>?, valueSerde: Serde<V2>?, repartitionRequired: Bool? = nil
    ) -> KStream<K2, V2> {
        KStream<K2, V2>(
            builder: builder, nodeName: name, keySerde: keySerde, valueSerde: valueSerde,
            repartitionRequired: repartitionRequired ?? self.repartitionRequired, sourceNodes: sourceNodes
        )
    }

    /// Adds a node running `body` per record. The stateless operators below are `@inlinable` so
    /// that `body` is compiled in the application's module, specialised for its key and value
    /// types: a closure built here, in generic code, would look up type metadata and copy values
    /// through value witnesses for every record.
    @inlinable
    func add<K2, V2>(
        _ prefix: String, named: String?,
        _ body: @escaping @Sendable (StreamRecord<Key, Value>, ProcessorContext<K2, V2>) throws -> Void
    ) -> String {
        builder.addProcessor(named ?? builder.newName(prefix), parents: [nodeName], body)
    }

    // MARK: Stateless

    /// A new key and value for every record. The key may change, so a later grouping or join
    /// repartitions.
    @inlinable
    public func map<NewKey, NewValue>(
        named: String? = nil, _ mapper: @escaping @Sendable (Key, Value) throws -> (NewKey, NewValue)
    ) -> KStream<NewKey, NewValue> {
        let name = add("KSTREAM-MAP-", named: named) { (record, context: ProcessorContext<NewKey, NewValue>) in
            let (key, value) = try mapper(record.key, record.value)
            try context.forward(record.with(key: key, value: value))
        }
        return derived(name, keySerde: nil, valueSerde: nil, repartitionRequired: true)
    }

    /// A new value for every record; the key stays, so no repartitioning follows.
    @inlinable
    public func mapValues<NewValue>(
        named: String? = nil, _ mapper: @escaping @Sendable (Value) throws -> NewValue
    ) -> KStream<Key, NewValue> {
        let name = add("KSTREAM-MAPVALUES-", named: named) { (record, context: ProcessorContext<Key, NewValue>) in
            try context.forward(record.withValue(try mapper(record.value)))
        }
        return derived(name, keySerde: keySerde, valueSerde: nil)
    }

    /// A new value for every record, computed from key and value.
    @inlinable
    public func mapValues<NewValue>(
        named: String? = nil, _ mapper: @escaping @Sendable (Key, Value) throws -> NewValue
    ) -> KStream<Key, NewValue> {
        let name = add("KSTREAM-MAPVALUES-", named: named) { (record, context: ProcessorContext<Key, NewValue>) in
            try context.forward(record.withValue(try mapper(record.key, record.value)))
        }
        return derived(name, keySerde: keySerde, valueSerde: nil)
    }

    /// Zero or more records for every record, with new keys.
    @inlinable
    public func flatMap<NewKey, NewValue>(
        named: String? = nil, _ mapper: @escaping @Sendable (Key, Value) throws -> [(NewKey, NewValue)]
    ) -> KStream<NewKey, NewValue> {
        let name = add("KSTREAM-FLATMAP-", named: named) { (record, context: ProcessorContext<NewKey, NewValue>) in
            for (key, value) in try mapper(record.key, record.value) {
                try context.forward(record.with(key: key, value: value))
            }
        }
        return derived(name, keySerde: nil, valueSerde: nil, repartitionRequired: true)
    }

    /// Zero or more values for every record, each with the record's key.
    @inlinable
    public func flatMapValues<NewValue>(
        named: String? = nil, _ mapper: @escaping @Sendable (Value) throws -> [NewValue]
    ) -> KStream<Key, NewValue> {
        let name = add("KSTREAM-FLATMAPVALUES-", named: named) { (record, context: ProcessorContext<Key, NewValue>) in
            try Self.forwardEach(of: try mapper(record.value), with: record, to: context)
        }
        return derived(name, keySerde: keySerde, valueSerde: nil)
    }

    /// Zero or more values for every record, computed from key and value.
    @inlinable
    public func flatMapValues<NewValue>(
        named: String? = nil, _ mapper: @escaping @Sendable (Key, Value) throws -> [NewValue]
    ) -> KStream<Key, NewValue> {
        let name = add("KSTREAM-FLATMAPVALUES-", named: named) { (record, context: ProcessorContext<Key, NewValue>) in
            try Self.forwardEach(of: try mapper(record.key, record.value), with: record, to: context)
        }
        return derived(name, keySerde: keySerde, valueSerde: nil)
    }

    /// Forwards one record per value, each with `record`'s key, timestamp and headers. The
    /// records share one copy of those, with only the value replaced: building each one afresh
    /// would retain and release key and headers once more per value.
    @inlinable
    static func forwardEach<NewValue>(
        of values: [NewValue], with record: StreamRecord<Key, Value>, to context: ProcessorContext<Key, NewValue>
    ) throws {
        guard let first = values.first else { return }
        var output = record.withValue(first)
        try context.forward(output)
        for value in values.dropFirst() {
            output.value = value
            try context.forward(output)
        }
    }

    /// The records that satisfy `predicate`.
    @inlinable
    public func filter(named: String? = nil, _ predicate: @escaping @Sendable (Key, Value) throws -> Bool) -> KStream {
        let name = add("KSTREAM-FILTER-", named: named) { (record, context: ProcessorContext<Key, Value>) in
            if try predicate(record.key, record.value) { try context.forward(record) }
        }
        return derived(name, keySerde: keySerde, valueSerde: valueSerde)
    }

    /// The records that do not satisfy `predicate`.
    @inlinable
    public func filterNot(named: String? = nil, _ predicate: @escaping @Sendable (Key, Value) throws -> Bool) -> KStream {
        let name = add("KSTREAM-FILTER-", named: named) { (record, context: ProcessorContext<Key, Value>) in
            if try !predicate(record.key, record.value) { try context.forward(record) }
        }
        return derived(name, keySerde: keySerde, valueSerde: valueSerde)
    }

    /// The same records under a new key computed from key and value.
    @inlinable
    public func selectKey<NewKey>(
        named: String? = nil, _ selector: @escaping @Sendable (Key, Value) throws -> NewKey
    ) -> KStream<NewKey, Value> {
        let name = add("KSTREAM-KEY-SELECT-", named: named) { (record, context: ProcessorContext<NewKey, Value>) in
            try context.forward(record.withKey(try selector(record.key, record.value)))
        }
        return derived(name, keySerde: nil, valueSerde: valueSerde, repartitionRequired: true)
    }

    /// Calls `action` for every record and passes the record on unchanged.
    @inlinable
    public func peek(named: String? = nil, _ action: @escaping @Sendable (Key, Value) throws -> Void) -> KStream {
        let name = add("KSTREAM-PEEK-", named: named) { (record, context: ProcessorContext<Key, Value>) in
            try action(record.key, record.value)
            try context.forward(record)
        }
        return derived(name, keySerde: keySerde, valueSerde: valueSerde)
    }

    /// Calls `action` for every record; the stream ends here.
    @inlinable
    public func foreach(named: String? = nil, _ action: @escaping @Sendable (Key, Value) throws -> Void) {
        _ = add("KSTREAM-FOREACH-", named: named) { (record, _: ProcessorContext<Never, Never>) in
            try action(record.key, record.value)
        }
    }

    /// The records of both streams, as they arrive.
    public func merge(_ other: KStream<Key, Value>, named: String? = nil) -> KStream {
        let name = builder.addProcessor(named ?? builder.newName("KSTREAM-MERGE-"), parents: [nodeName, other.nodeName]) {
            ClosureProcessor<Key, Value, Key, Value> { record, context in try context.forward(record) }
        }
        return KStream(
            builder: builder, nodeName: name, keySerde: keySerde ?? other.keySerde, valueSerde: valueSerde ?? other.valueSerde,
            repartitionRequired: repartitionRequired || other.repartitionRequired,
            sourceNodes: Array(Set(sourceNodes + other.sourceNodes)).sorted()
        )
    }

    /// Runs a processor of the processor API on every record; it may reach the stores named
    /// (added with ``StreamsBuilder/addStateStore(_:)``). What it forwards may have any key, so
    /// a later grouping or join repartitions.
    public func process<P: Processor>(
        named: String? = nil, stores: [String] = [], _ supplier: @escaping @Sendable () -> P
    ) -> KStream<P.KeyOut, P.ValueOut> where P.KeyIn == Key, P.ValueIn == Value {
        let name = builder.addProcessor(named ?? builder.newName("KSTREAM-PROCESSOR-"), parents: [nodeName], stores: stores, supplier)
        return derived(name, keySerde: nil, valueSerde: nil, repartitionRequired: true)
    }

    // MARK: Topics

    /// Writes the stream to `topic`. Serdes not given are taken from upstream or inferred.
    @inlinable
    public func to(_ topic: String, _ produced: Produced<Key, Value> = Produced()) {
        let name = produced.processorName ?? builder.newName("KSTREAM-SINK-")
        let keys = builder.serde(produced.keySerde, keySerde, for: "to(\(topic))")
        let values = builder.serde(produced.valueSerde, valueSerde, for: "to(\(topic))")
        builder.attempt {
            try builder.topology.addSink(name, topic: .external(topic), keySerde: keys, valueSerde: values,
                                         partitioner: produced.partitioner, parentList: [nodeName])
        }
    }

    /// Writes the stream to `topic` with serdes of the non-optional value type: `nil` values are
    /// written as null (tombstones), e.g. after `KTable.toStream()`.
    public func to<Wrapped>(_ topic: String, _ produced: Produced<Key, Wrapped>) where Value == Wrapped? {
        let wrapped = produced.partitioner
        to(topic, Produced<Key, Value>(
            keySerde: produced.keySerde,
            valueSerde: produced.valueSerde.map { Serde<Value>.optional($0) },
            partitioner: wrapped.map { partitioner in
                StreamPartitioner { topic, key, value, count in
                    value.flatMap { partitioner.partition(topic: topic, key: key, value: $0, partitionCount: count) }
                }
            },
            processorName: produced.processorName
        ))
    }

    /// Sends the stream through a repartition topic `<application.id>-<name>-repartition`, so
    /// records with equal keys land in the same partition (explicitly, instead of before the
    /// next grouping or join).
    @inlinable
    public func repartition(_ repartitioned: Repartitioned<Key, Value> = Repartitioned()) -> KStream {
        let base = repartitioned.name ?? builder.newName("KSTREAM-REPARTITION-")
        return builder.repartition(
            self, topicBase: base,
            keySerde: builder.serde(repartitioned.keySerde, keySerde, for: "repartition"),
            valueSerde: builder.serde(repartitioned.valueSerde, valueSerde, for: "repartition"),
            partitions: repartitioned.numberOfPartitions, partitioner: repartitioned.partitioner, dropNullKeys: false
        )
    }

    /// A table of the latest value per key of the stream, materialized in a store.
    @discardableResult
    public func toTable(named: String? = nil, _ materialized: Materialized<Key, Value> = Materialized()) -> KTable<Key, Value> {
        toTable(named: named, materialized, carriedValueSerde: valueSerde) { $0 }
    }

    /// A table of the latest value per key, where a `nil` value deletes the key.
    @discardableResult
    public func toTable<Wrapped>(
        named: String? = nil, _ materialized: Materialized<Key, Wrapped> = Materialized()
    ) -> KTable<Key, Wrapped> where Value == Wrapped? {
        toTable(named: named, materialized, carriedValueSerde: nil) { $0 }
    }

    private func toTable<TableValue>(
        named: String?, _ materialized: Materialized<Key, TableValue>, carriedValueSerde: Serde<TableValue>?,
        _ toTableValue: @escaping @Sendable (Value) -> TableValue?
    ) -> KTable<Key, TableValue> {
        let name = named ?? builder.newName("KSTREAM-TOTABLE-")
        let input = repartitionRequired ? repartitionForKey(named: name) : self
        let storeName = materialized.supplier?.name ?? materialized.storeName ?? builder.newStoreName("KSTREAM-TOTABLE-STATE-STORE-")
        let keys = builder.serde(materialized.keySerde, input.keySerde, for: "toTable")
        let values = builder.serde(materialized.valueSerde, carriedValueSerde, for: "toTable")
        builder.addProcessor(name, parents: [input.nodeName]) {
            StreamToTableProcessor<Key, Value, TableValue>(storeName: storeName, toTableValue: toTableValue)
        }
        builder.attempt {
            try builder.topology.addStateStore(builder.storeBuilder(storeName, materialized, keySerde: keys, valueSerde: values),
                                               connectedTo: [name])
        }
        return KTable(builder: builder, nodeName: name, keySerde: keys, valueSerde: values,
                      valueGetter: .store(storeName), sourceNodes: input.sourceNodes, storeName: storeName)
    }

    /// This stream through a repartition topic named after `base` (or this node), dropping null keys.
    @inlinable
    func repartitionForKey(named base: String?, keySerde: Serde<Key>? = nil, valueSerde: Serde<Value>? = nil) -> KStream {
        builder.repartition(
            self, topicBase: base ?? nodeName,
            keySerde: builder.serde(keySerde, self.keySerde, for: "repartition before grouping or join"),
            valueSerde: builder.serde(valueSerde, self.valueSerde, for: "repartition before grouping or join"),
            partitions: nil, partitioner: nil, dropNullKeys: true
        )
    }
}

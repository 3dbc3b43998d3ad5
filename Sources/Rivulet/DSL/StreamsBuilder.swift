/// Builds a topology with the DSL (Kafka Streams' `StreamsBuilder`): start from ``stream(_:_:)``
/// or ``table(_:_:_:)``, chain operations, then ``build()``.
///
/// Nodes get Kafka Streams' generated names (`KSTREAM-MAP-0000000001`) unless named. Problems
/// found while chaining (a serde that is needed but neither given nor inferable) are collected
/// and thrown by ``build()``, so chains stay free of `try`.
public final class StreamsBuilder {
    @usableFromInline var topology = Topology()
    private var counter = 0
    private var errors: [any Error] = []
    /// The store kind of tables whose `Materialized` does not choose one.
    public let defaultStoreType: DSLStoreType

    /// A builder whose tables use `defaultStoreType` unless their `Materialized` chooses.
    public init(defaultStoreType: DSLStoreType = .rocksDB) {
        self.defaultStoreType = defaultStoreType
    }

    /// A stream of the records of `topics`.
    @inlinable
    public func stream<Key, Value>(_ topics: [String], _ consumed: Consumed<Key, Value>) -> KStream<Key, Value> {
        let name = consumed.processorName ?? newName("KSTREAM-SOURCE-")
        attempt {
            try topology.addSource(name, topicNames: topics.map(TopicName.external), keySerde: consumed.keySerde,
                                   valueSerde: consumed.valueSerde, timestampExtractor: consumed.timestampExtractor)
        }
        return KStream(builder: self, nodeName: name, keySerde: consumed.keySerde, valueSerde: consumed.valueSerde,
                       repartitionRequired: false, sourceNodes: [name])
    }

    /// A stream of the records of `topic`.
    @inlinable
    public func stream<Key, Value>(_ topic: String, _ consumed: Consumed<Key, Value>) -> KStream<Key, Value> {
        stream([topic], consumed)
    }

    /// A table of the latest value per key of `topic` (a null value deletes the key). The table
    /// is always materialized: in the store `materialized` names, or in `<topic>-STATE-STORE-<n>`.
    public func table<Key, Value>(
        _ topic: String, _ consumed: Consumed<Key, Value>, _ materialized: Materialized<Key, Value> = Materialized()
    ) -> KTable<Key, Value> {
        let storeName = materialized.supplier?.name ?? materialized.storeName ?? newStoreName("\(topic)-STATE-STORE-")
        let sourceName = consumed.processorName ?? newName("KSTREAM-SOURCE-")
        let tableName = newName("KTABLE-SOURCE-")
        let keySerde = materialized.keySerde ?? consumed.keySerde
        let valueSerde = materialized.valueSerde ?? consumed.valueSerde
        attempt {
            // Null keys and values are part of a table topic's vocabulary: read them as nil.
            try topology.addSource(sourceName, topicNames: [.external(topic)], keySerde: Serde<Key?>.optional(consumed.keySerde),
                                   valueSerde: Serde<Value?>.optional(consumed.valueSerde),
                                   timestampExtractor: consumed.timestampExtractor)
            try topology.addProcessor(tableName, { TableSourceProcessor<Key, Value>(storeName: storeName) }, parentList: [sourceName])
            try topology.addStateStore(storeBuilder(storeName, materialized, keySerde: keySerde, valueSerde: valueSerde),
                                       connectedTo: [tableName])
        }
        return KTable(builder: self, nodeName: tableName, keySerde: keySerde, valueSerde: valueSerde,
                      valueGetter: .store(storeName), sourceNodes: [sourceName], storeName: storeName)
    }

    /// Adds a store for processors added with `KStream.process(_:named:stores:)`.
    public func addStateStore(_ builder: some StoreBuilding) {
        attempt { try topology.addStateStore(builder) }
    }

    /// The topology built so far; throws the first problem met while chaining.
    public func build() throws -> Topology {
        if let first = errors.first { throw first }
        return topology
    }

    // MARK: For the DSL types

    /// A generated node name: the prefix and a ten-digit counter shared by all names.
    @usableFromInline
    func newName(_ prefix: String) -> String {
        defer { counter += 1 }
        let digits = String(counter)
        return prefix + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    @usableFromInline
    func newStoreName(_ prefix: String) -> String {
        newName(prefix)
    }

    @usableFromInline
    func attempt(_ body: () throws -> Void) {
        do { try body() } catch { errors.append(error) }
    }

    /// The serde to use: the one given, else the one carried from upstream, else the inferred
    /// one; when there is none the problem is recorded and a serde that fails is returned (the
    /// topology will not build anyway).
    @usableFromInline
    func serde<T>(_ given: Serde<T>?, _ carried: Serde<T>?, for operation: String) -> Serde<T> {
        if let serde = given ?? carried ?? Serde<T>.inferred() { return serde }
        errors.append(TopologyError.missingSerde(operation: operation, type: "\(T.self)"))
        return Serde<T>(
            serialize: { _, _ in throw TopologyError.missingSerde(operation: operation, type: "\(T.self)") },
            deserialize: { _ in throw TopologyError.missingSerde(operation: operation, type: "\(T.self)") }
        )
    }

    /// Adds a processor after `parents`, connected to `stores`; returns its name.
    @inlinable @discardableResult
    func addProcessor<P: Processor>(
        _ name: String, parents: [String], stores: [String] = [], _ supplier: @escaping @Sendable () -> P
    ) -> String {
        attempt {
            try topology.addProcessor(name, supplier, parentList: parents)
            if !stores.isEmpty { try topology.connectProcessorAndStateStores([name], stores) }
        }
        return name
    }

    /// Adds a stateless processor running `body` per record after `parents`; returns its name.
    @inlinable @discardableResult
    func addProcessor<KeyIn, ValueIn, KeyOut, ValueOut>(
        _ name: String, parents: [String], _ body: @escaping ClosureProcessor<KeyIn, ValueIn, KeyOut, ValueOut>.Body
    ) -> String {
        attempt { try topology.addClosureProcessor(name, parentList: parents, body) }
        return name
    }

    /// The timestamped store behind a DSL table.
    func storeBuilder<Key, Value>(
        _ name: String, _ materialized: Materialized<Key, Value>, keySerde: Serde<Key>, valueSerde: Serde<Value>
    ) -> KeyValueStoreBuilder<Key, Value> {
        let supplier: KeyValueBytesStoreSupplier
        if let custom = materialized.supplier {
            supplier = custom
        } else {
            switch materialized.storeType ?? defaultStoreType {
            case .rocksDB: supplier = .rocksDB(name)
            case .inMemory: supplier = .inMemory(name)
            }
        }
        var builder = Stores.timestampedKeyValueStoreBuilder(supplier, keySerde: keySerde, valueSerde: valueSerde)
        builder = materialized.cachingEnabled ? builder.withCachingEnabled() : builder.withCachingDisabled()
        builder = materialized.loggingEnabled ? builder.withLoggingEnabled(materialized.changelogConfig) : builder.withLoggingDisabled()
        return builder
    }

    /// Sends a stream through a repartition topic `<application.id>-<name>-repartition` and
    /// returns the source reading it back (nodes: optional null-key filter, sink, source).
    @inlinable
    func repartition<Key, Value>(
        _ stream: KStream<Key, Value>, topicBase: String, keySerde: Serde<Key>, valueSerde: Serde<Value>,
        partitions: Int32?, partitioner: StreamPartitioner<Key, Value>?, dropNullKeys: Bool
    ) -> KStream<Key, Value> {
        let topic = TopicName.internal("\(topicBase)-repartition")
        topology.addRepartitionTopic("\(topicBase)-repartition", partitions: partitions)
        var parent = stream.nodeName
        if dropNullKeys {
            let nullKey = NullCheck<Key>()
            parent = addProcessor(newName("KSTREAM-FILTER-"), parents: [parent]) { (record: StreamRecord<Key, Value>, context: ProcessorContext<Key, Value>) in
                if !nullKey.isNull(record.key) { try context.forward(record) }
            }
        }
        let sinkName = newName("KSTREAM-SINK-")
        let sourceName = newName("KSTREAM-SOURCE-")
        attempt {
            try topology.addSink(sinkName, topic: topic, keySerde: keySerde, valueSerde: valueSerde,
                                 partitioner: partitioner, parentList: [parent])
            try topology.addSource(sourceName, topicNames: [topic], keySerde: keySerde, valueSerde: valueSerde,
                                   timestampExtractor: nil)
        }
        return KStream(builder: self, nodeName: sourceName, keySerde: keySerde, valueSerde: valueSerde,
                       repartitionRequired: false, sourceNodes: [sourceName])
    }
}

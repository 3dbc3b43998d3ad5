/// An aggregation node as planned: its name, its input (through a repartition topic when
/// needed) and its store. The `@inlinable` aggregation methods of ``KGroupedStream`` and
/// ``KGroupedTable`` plan the node, then add the processor themselves, so that it is created
/// (and its per-record path compiled) in the application's module, then call ``finish()``. A
/// grouped stream plans in `@inlinable` code too, so the nodes of its repartition are
/// specialised as well.
@usableFromInline
struct AggregationNode<Key, Aggregate> {
    @usableFromInline let builder: StreamsBuilder
    /// The processor's name.
    @usableFromInline let name: String
    @usableFromInline let storeName: String
    /// The node the processor reads from.
    @usableFromInline let parent: String
    let sourceNodes: [String]
    let keySerde: Serde<Key>
    let valueSerde: Serde<Aggregate>
    let materialized: Materialized<Key, Aggregate>

    @usableFromInline
    init(
        builder: StreamsBuilder, name: String, storeName: String, parent: String, sourceNodes: [String],
        keySerde: Serde<Key>, valueSerde: Serde<Aggregate>, materialized: Materialized<Key, Aggregate>
    ) {
        self.builder = builder
        self.name = name
        self.storeName = storeName
        self.parent = parent
        self.sourceNodes = sourceNodes
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.materialized = materialized
    }

    /// Adds the store, connected to the processor added as ``name``; returns the table.
    @usableFromInline
    func finish() -> KTable<Key, Aggregate> {
        builder.attempt {
            try builder.topology.addStateStore(builder.storeBuilder(storeName, materialized, keySerde: keySerde, valueSerde: valueSerde),
                                               connectedTo: [name])
        }
        return KTable(builder: builder, nodeName: name, keySerde: keySerde, valueSerde: valueSerde,
                      valueGetter: .store(storeName), sourceNodes: sourceNodes, storeName: storeName)
    }
}

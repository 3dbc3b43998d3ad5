/// The parts of an aggregation node that need no specialisation: its name, its input (through a
/// repartition topic when needed) and its store. The `@inlinable` aggregation methods of
/// ``KGroupedStream`` and ``KGroupedTable`` plan the node with these, then add the processor
/// themselves, so that it is created (and its per-record path compiled) in the application's
/// module, then call ``finish()``.
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

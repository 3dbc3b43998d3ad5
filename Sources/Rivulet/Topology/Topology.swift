/// A graph of sources, processors and sinks with their stores: what a streams application runs.
///
/// Build one with the DSL (``StreamsBuilder/build()``) or node by node (Kafka's processor API:
/// ``addSource(_:topics:keySerde:valueSerde:timestampExtractor:)``, ``addProcessor(_:_:parents:)``,
/// ``addSink(_:topic:keySerde:valueSerde:partitioner:parents:)``, ``addStateStore(_:connectedTo:)``).
/// A topology is a value: it holds suppliers, and each task instantiates its own nodes and stores.
///
/// Connected nodes form sub-topologies; records cross from one sub-topology to another only
/// through topics (repartition topics, for the DSL), which is what lets each run as independent
/// tasks, one per partition.
public struct Topology: Sendable {
    private(set) var nodes: [NodeDefinition] = []
    private var nodeIndex: [String: Int] = [:]
    private(set) var stores: [StoreDefinition] = []
    private var storeIndex: [String: Int] = [:]
    /// Repartition topics the topology creates, by name without the application id.
    private(set) var repartitionTopics: [RepartitionTopicDefinition] = []
    /// Groups of source nodes whose topics must have equal partition counts (joins).
    private(set) var copartitionedSources: [[String]] = []
    private var topicReaders: [TopicName: String] = [:]

    /// An empty topology.
    public init() {}

    // MARK: Processor API

    /// Adds a source reading `topics` with the given serdes.
    public mutating func addSource<Key, Value>(
        _ name: String, topics: [String], keySerde: Serde<Key>, valueSerde: Serde<Value>,
        timestampExtractor: TimestampExtractor? = nil
    ) throws {
        try addSource(name, topicNames: topics.map(TopicName.external), keySerde: keySerde, valueSerde: valueSerde,
                      timestampExtractor: timestampExtractor)
    }

    /// Adds a processor after `parents`; every task calls `supplier` for its own instance.
    public mutating func addProcessor<P: Processor>(
        _ name: String, _ supplier: @escaping @Sendable () -> P, parents: String...
    ) throws {
        try addProcessor(name, supplier, parentList: parents)
    }

    /// Adds a sink writing what `parents` forward to `topic`.
    public mutating func addSink<Key, Value>(
        _ name: String, topic: String, keySerde: Serde<Key>, valueSerde: Serde<Value>,
        partitioner: StreamPartitioner<Key, Value>? = nil, parents: String...
    ) throws {
        try addSink(name, topic: .external(topic), keySerde: keySerde, valueSerde: valueSerde,
                    partitioner: partitioner, parentList: parents)
    }

    /// Adds a store, connected to the given processors.
    public mutating func addStateStore(_ builder: some StoreBuilding, connectedTo processors: [String] = []) throws {
        let definition = builder.storeDefinition
        guard storeIndex[definition.name] == nil else { throw TopologyError.duplicateStore(definition.name) }
        storeIndex[definition.name] = stores.count
        stores.append(definition)
        try connectProcessorAndStateStores(processors, [definition.name])
    }

    /// Gives processors access to stores already added.
    public mutating func connectProcessorAndStateStores(_ processor: String, _ storeNames: String...) throws {
        try connectProcessorAndStateStores([processor], storeNames)
    }

    // MARK: Building blocks (the DSL uses these directly)
    //
    // `@inlinable`, like the DSL operators that call them: their node factories are compiled
    // where the key, value and processor types are concrete (see ``BuiltNode``).

    @inlinable
    mutating func addSource<Key, Value>(
        _ name: String, topicNames: [TopicName], keySerde: Serde<Key>, valueSerde: Serde<Value>,
        timestampExtractor: TimestampExtractor?
    ) throws {
        try checkNewSource(name, reading: topicNames)
        append(NodeDefinition(
            name: name, kind: .source(topics: topicNames, timestampExtractor: timestampExtractor), parents: [],
            input: nil, output: RecordTypes(Key.self, Value.self),
            make: { build in
                let node = SourceNode(name: name, task: build.task, keySerde: keySerde, valueSerde: valueSerde)
                return BuiltNode(node, source: SourceEntry { raw, timestamp in try node.process(raw, timestamp: timestamp) })
            }
        ))
    }

    /// Checks a new source's name and topics, and records it as the reader of its topics.
    @usableFromInline
    mutating func checkNewSource(_ name: String, reading topicNames: [TopicName]) throws {
        try checkNewName(name)
        guard !topicNames.isEmpty else { throw TopologyError.invalid("source \(name) reads no topic") }
        for topic in topicNames {
            if let reader = topicReaders[topic] { throw TopologyError.topicAlreadyRead(topic: topic.description, by: reader) }
        }
        for topic in topicNames { topicReaders[topic] = name }
    }

    @inlinable
    mutating func addProcessor<P: Processor>(
        _ name: String, _ supplier: @escaping @Sendable () -> P, parentList: [String]
    ) throws {
        try addProcessorNode(
            name, parentList: parentList,
            input: RecordTypes(P.KeyIn.self, P.ValueIn.self), output: RecordTypes(P.KeyOut.self, P.ValueOut.self),
            make: { build in Self.processorNode(name, supplier(), build) }
        )
    }

    /// Adds a stateless DSL processor: `body` runs per record with the node's context (see
    /// ``closureNode(_:_:_:)``).
    @inlinable
    mutating func addClosureProcessor<KeyIn, ValueIn, KeyOut, ValueOut>(
        _ name: String, parentList: [String],
        _ body: @escaping ClosureProcessor<KeyIn, ValueIn, KeyOut, ValueOut>.Body
    ) throws {
        try addProcessorNode(
            name, parentList: parentList,
            input: RecordTypes(KeyIn.self, ValueIn.self), output: RecordTypes(KeyOut.self, ValueOut.self),
            make: { build in Self.closureNode(name, body, build) }
        )
    }

    @usableFromInline
    mutating func addProcessorNode(
        _ name: String, parentList: [String], input: RecordTypes, output: RecordTypes,
        make: @escaping @Sendable (NodeBuildContext) -> BuiltNode
    ) throws {
        try checkNewName(name)
        try checkParents(parentList, of: name, taking: input)
        append(NodeDefinition(name: name, kind: .processor, parents: parentList, input: input, output: output, make: make))
    }

    /// One task's instance of a processor node, entered through its specialised `receive`.
    @inlinable
    static func processorNode<P: Processor>(_ name: String, _ processor: P, _ build: NodeBuildContext) -> BuiltNode {
        let node = ProcessorNode(name: name, processor: processor, task: build.task, stores: build.stores)
        return BuiltNode(node, receive: RecordEntry { record in try node.receive(record) })
    }

    /// One task's instance of a stateless DSL processor. Its entry point calls the closure with
    /// the node's context, a constant of the entry point: through `ClosureProcessor.process` the
    /// context would be read from the processor's mutable property, an exclusivity check and a
    /// retain and release per record. Errors are tagged with the node's name as
    /// ``ProcessorNode`` tags them.
    @inlinable
    static func closureNode<KeyIn, ValueIn, KeyOut, ValueOut>(
        _ name: String, _ body: @escaping ClosureProcessor<KeyIn, ValueIn, KeyOut, ValueOut>.Body, _ build: NodeBuildContext
    ) -> BuiltNode {
        let node = ProcessorNode(name: name, processor: ClosureProcessor(body), task: build.task, stores: build.stores)
        let context = node.context
        return BuiltNode(node, receive: RecordEntry { (record: StreamRecord<KeyIn, ValueIn>) in
            do {
                try body(record, context)
            } catch {
                throw node.tag(error)
            }
        })
    }

    @inlinable
    mutating func addSink<Key, Value>(
        _ name: String, topic: TopicName, keySerde: Serde<Key>, valueSerde: Serde<Value>,
        partitioner: StreamPartitioner<Key, Value>?, parentList: [String]
    ) throws {
        try checkNewName(name)
        let input = RecordTypes(Key.self, Value.self)
        try checkParents(parentList, of: name, taking: input)
        append(NodeDefinition(
            name: name, kind: .sink(topic: topic), parents: parentList,
            input: input, output: nil,
            make: { build in
                let node = SinkNode(name: name, topic: build.resolve(topic), task: build.task,
                                    keySerde: keySerde, valueSerde: valueSerde, partitioner: partitioner)
                return BuiltNode(node, receive: RecordEntry { record in try node.receive(record) })
            }
        ))
    }

    @usableFromInline
    mutating func connectProcessorAndStateStores(_ processors: [String], _ storeNames: [String]) throws {
        for store in storeNames where storeIndex[store] == nil { throw TopologyError.unknownStore(store) }
        for processor in processors {
            guard let index = nodeIndex[processor] else { throw TopologyError.unknownNode(processor) }
            guard case .processor = nodes[index].kind else { throw TopologyError.notAProcessor(processor) }
            for store in storeNames where !nodes[index].stores.contains(store) {
                nodes[index].stores.append(store)
            }
        }
    }

    /// Declares a repartition topic (`<application.id>-<name>`); `partitions == nil` takes the
    /// count from upstream.
    @usableFromInline
    mutating func addRepartitionTopic(_ name: String, partitions: Int32?) {
        guard !repartitionTopics.contains(where: { $0.name == name }) else { return }
        repartitionTopics.append(RepartitionTopicDefinition(name: name, partitions: partitions))
    }

    /// Requires the topics of these sources to have equal partition counts.
    mutating func copartition(sources: [String]) {
        let unique = Array(Set(sources)).sorted()
        guard unique.count > 1 else { return }
        copartitionedSources.append(unique)
    }

    /// Replaces the factory of a processor (the DSL's split adds branches after the split node).
    mutating func replaceProcessor<P: Processor>(_ name: String, _ supplier: @escaping @Sendable () -> P) {
        guard let index = nodeIndex[name] else { return }
        nodes[index].make = { build in Self.processorNode(name, supplier(), build) }
    }

    func node(named name: String) -> NodeDefinition? {
        nodeIndex[name].map { nodes[$0] }
    }

    func store(named name: String) -> StoreDefinition? {
        storeIndex[name].map { stores[$0] }
    }

    /// Whether a name is taken by a node.
    public func hasNode(_ name: String) -> Bool { nodeIndex[name] != nil }

    @usableFromInline
    mutating func append(_ node: NodeDefinition) {
        nodeIndex[node.name] = nodes.count
        nodes.append(node)
    }

    @usableFromInline
    func checkNewName(_ name: String) throws {
        guard !name.isEmpty else { throw TopologyError.invalid("node names cannot be empty") }
        guard nodeIndex[name] == nil else { throw TopologyError.duplicateNode(name) }
    }

    @usableFromInline
    func checkParents(_ parents: [String], of name: String, taking input: RecordTypes) throws {
        guard !parents.isEmpty else { throw TopologyError.noParents(name) }
        for parentName in parents {
            guard let parent = node(named: parentName) else { throw TopologyError.unknownNode(parentName) }
            guard let output = parent.output else { throw TopologyError.sinkCannotHaveChildren(parentName) }
            guard output == input else {
                throw TopologyError.typeMismatch(
                    parent: parentName, parentOutput: output.description, child: name, childInput: input.description
                )
            }
        }
    }
}

/// A repartition topic as the topology declares it.
struct RepartitionTopicDefinition: Sendable, Equatable {
    /// Without the application id; ends in `-repartition`.
    let name: String
    /// `nil`: as many partitions as the largest source topic of the sub-topologies writing to it.
    let partitions: Int32?
}

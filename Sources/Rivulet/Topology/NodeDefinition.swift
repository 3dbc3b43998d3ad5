/// The key and value types of records on one side of a node, compared when nodes are connected.
struct RecordTypes: Sendable, Equatable, CustomStringConvertible {
    let key: ObjectIdentifier
    let value: ObjectIdentifier
    let description: String

    init<Key, Value>(_ key: Key.Type, _ value: Value.Type) {
        self.key = ObjectIdentifier(key)
        self.value = ObjectIdentifier(value)
        self.description = "(\(Key.self), \(Value.self))"
    }

    static func == (lhs: RecordTypes, rhs: RecordTypes) -> Bool {
        lhs.key == rhs.key && lhs.value == rhs.value
    }
}

/// What a node factory gets to build one task's instance of a node.
struct NodeBuildContext {
    let task: TaskContext
    /// The stores connected to the node.
    let stores: Set<String>

    func resolve(_ topic: TopicName) -> String {
        topic.resolved(applicationId: task.applicationId)
    }
}

/// One node of a topology, as the topology holds it: its place in the graph and a factory of
/// per-task instances.
struct NodeDefinition: Sendable {
    enum Kind: Sendable {
        case source(topics: [TopicName], timestampExtractor: TimestampExtractor?)
        case processor
        case sink(topic: TopicName)
    }

    let name: String
    let kind: Kind
    var parents: [String]
    var stores: [String] = []
    /// What the node takes (nil for a source).
    let input: RecordTypes?
    /// What the node forwards (nil for a sink).
    let output: RecordTypes?
    var make: @Sendable (NodeBuildContext) -> any RuntimeNode

    var isSource: Bool {
        if case .source = kind { return true }
        return false
    }

    var isSink: Bool {
        if case .sink = kind { return true }
        return false
    }

    var sourceTopics: [TopicName] {
        if case .source(let topics, _) = kind { return topics }
        return []
    }
}

/// The key and value types of records on one side of a node, compared when nodes are connected.
@usableFromInline
struct RecordTypes: Sendable, Equatable, CustomStringConvertible {
    let key: ObjectIdentifier
    let value: ObjectIdentifier
    @usableFromInline let description: String

    @usableFromInline
    init<Key, Value>(_ key: Key.Type, _ value: Value.Type) {
        self.key = ObjectIdentifier(key)
        self.value = ObjectIdentifier(value)
        self.description = "(\(Key.self), \(Value.self))"
    }

    @usableFromInline
    static func == (lhs: RecordTypes, rhs: RecordTypes) -> Bool {
        lhs.key == rhs.key && lhs.value == rhs.value
    }
}

/// What a node factory gets to build one task's instance of a node.
@usableFromInline
struct NodeBuildContext {
    @usableFromInline let task: TaskContext
    /// The stores connected to the node.
    @usableFromInline let stores: Set<String>

    @usableFromInline
    func resolve(_ topic: TopicName) -> String {
        topic.resolved(applicationId: task.applicationId)
    }
}

/// One task's instance of a node, with its per-record entry point.
///
/// The factories that build nodes (``NodeDefinition/make``) are `@inlinable` code in the
/// topology's building blocks, so the DSL's `@inlinable` operators compile them in the
/// application's module, where key, value and processor types are concrete. The entry points
/// bound there (`{ try node.receive($0) }`) are specialised for those types: a record crosses a
/// node with no type-metadata lookup or witness-table call. Bound in the library's generic code
/// instead, every generic type a record touches would cost a runtime lookup per record.
@usableFromInline
struct BuiltNode {
    @usableFromInline let node: any RuntimeNode
    /// A receiving node's entry point, a ``RecordEntry`` of its key and value types; `nil` for a source.
    @usableFromInline let receive: AnyObject?
    /// A source's entry point; `nil` for the others.
    @usableFromInline let source: SourceEntry?

    @inlinable
    init(_ node: any RuntimeNode, receive: AnyObject? = nil, source: SourceEntry? = nil) {
        self.node = node
        self.receive = receive
        self.source = source
    }
}

/// The entry point of a node that receives typed records.
///
/// A class holding the closure, rather than the closure itself in an `Any` or an array: a
/// function value stored as a generic value is re-abstracted (wrapped in a thunk) on the way in
/// and again on the way out, for every call; a class field keeps one form.
@usableFromInline
final class RecordEntry<Key, Value> {
    @usableFromInline let receive: (StreamRecord<Key, Value>) throws -> Void

    @inlinable
    init(_ receive: @escaping (StreamRecord<Key, Value>) throws -> Void) {
        self.receive = receive
    }
}

/// The entry point of a source: a raw record and its extracted timestamp.
@usableFromInline
final class SourceEntry {
    @usableFromInline let process: (RawRecord, Int64) throws -> Void

    @inlinable
    init(_ process: @escaping (RawRecord, Int64) throws -> Void) {
        self.process = process
    }
}

/// One node of a topology, as the topology holds it: its place in the graph and a factory of
/// per-task instances.
@usableFromInline
struct NodeDefinition: Sendable {
    @usableFromInline
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
    var make: @Sendable (NodeBuildContext) -> BuiltNode

    @usableFromInline
    init(
        name: String, kind: Kind, parents: [String], input: RecordTypes?, output: RecordTypes?,
        make: @escaping @Sendable (NodeBuildContext) -> BuiltNode
    ) {
        self.name = name
        self.kind = kind
        self.parents = parents
        self.input = input
        self.output = output
        self.make = make
    }

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

/// Receives typed records: every node but a source.
@usableFromInline
protocol RecordReceiver<Key, Value>: AnyObject {
    associatedtype Key
    associatedtype Value
    func receive(_ record: StreamRecord<Key, Value>) throws
}

/// A node of a task's processor graph, whatever its types.
@usableFromInline
protocol RuntimeNode: AnyObject {
    var name: String { get }
    /// Wires `child` after this node, through the entry point `child` was built with (see
    /// ``BuiltNode``); throws when the child does not take what this node forwards.
    func addChild(_ child: BuiltNode) throws
    func initialize() throws
    func close() throws
}

/// The shared wiring of nodes that forward through a context.
@usableFromInline
protocol ForwardingNode: RuntimeNode {
    associatedtype KeyOut
    associatedtype ValueOut
    var context: ProcessorContext<KeyOut, ValueOut> { get }
}

extension ForwardingNode {
    @usableFromInline
    func addChild(_ child: BuiltNode) throws {
        if let entry = child.receive as? RecordEntry<KeyOut, ValueOut> {
            context.addChild(entry, name: child.node.name)
            return
        }
        guard let receiver = child.node as? any RecordReceiver<KeyOut, ValueOut> else {
            throw StreamsError.invalidTopology(
                "\(name) forwards (\(KeyOut.self), \(ValueOut.self)) but \(child.node.name) does not accept that"
            )
        }
        context.addChild(receiver, name: child.node.name)
    }
}

/// A source: deserializes raw records of its topics and forwards them.
@usableFromInline
protocol SourceRuntimeNode: RuntimeNode {
    func process(_ record: RawRecord, timestamp: Int64) throws
}

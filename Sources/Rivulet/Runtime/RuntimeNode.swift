/// Receives typed records: every node but a source.
protocol RecordReceiver<Key, Value>: AnyObject {
    associatedtype Key
    associatedtype Value
    func receive(_ record: StreamRecord<Key, Value>) throws
}

/// A node of a task's processor graph, whatever its types.
protocol RuntimeNode: AnyObject {
    var name: String { get }
    /// Wires `child` after this node; throws when the child does not take what this node forwards.
    func addChild(_ child: any RuntimeNode) throws
    func initialize() throws
    func close() throws
}

/// The shared wiring of nodes that forward through a context.
protocol ForwardingNode: RuntimeNode {
    associatedtype KeyOut
    associatedtype ValueOut
    var context: ProcessorContext<KeyOut, ValueOut> { get }
}

extension ForwardingNode {
    func addChild(_ child: any RuntimeNode) throws {
        guard let receiver = child as? any RecordReceiver<KeyOut, ValueOut> else {
            throw StreamsError.invalidTopology(
                "\(name) forwards (\(KeyOut.self), \(ValueOut.self)) but \(child.name) does not accept that"
            )
        }
        context.addChild(receiver, name: child.name)
    }
}

/// A source: deserializes raw records of its topics and forwards them.
protocol SourceRuntimeNode: RuntimeNode {
    func process(_ record: RawRecord, timestamp: Int64) throws
}

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
        guard let entry = child.receive as? RecordEntry<KeyOut, ValueOut> else {
            throw StreamsError.invalidTopology(
                "\(name) forwards (\(KeyOut.self), \(ValueOut.self)) but \(child.node.name) does not accept that"
            )
        }
        context.addChild(entry, name: child.node.name)
    }
}

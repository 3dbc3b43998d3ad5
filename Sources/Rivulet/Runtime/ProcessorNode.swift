/// Runs one processor instance. Errors a processor throws are tagged with the node's name, once.
@usableFromInline
final class ProcessorNode<P: Processor>: ForwardingNode {
    @usableFromInline let name: String
    @usableFromInline let processor: P
    @usableFromInline let context: ProcessorContext<P.KeyOut, P.ValueOut>

    @usableFromInline
    init(name: String, processor: P, task: TaskContext, stores: Set<String>) {
        self.name = name
        self.processor = processor
        self.context = ProcessorContext(task: task, nodeName: name, connectedStores: stores)
    }

    @usableFromInline
    func initialize() throws {
        try tagged { try processor.initialize(context: context) }
    }

    @inlinable
    func receive(_ record: StreamRecord<P.KeyIn, P.ValueIn>) throws {
        do {
            try processor.process(record)
        } catch {
            throw tag(error)
        }
    }

    @usableFromInline
    func close() throws {
        try tagged { try processor.close() }
    }

    private func tagged(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            throw tag(error)
        }
    }

    /// The error tagged with this node's name, unless it already is a ``StreamsError``.
    @usableFromInline
    func tag(_ error: any Error) -> any Error {
        if error is StreamsError { return error }
        return StreamsError.processing(node: name, underlying: error)
    }
}

/// Runs one processor instance. Errors a processor throws are tagged with the node's name, once.
final class ProcessorNode<P: Processor>: ForwardingNode, RecordReceiver {
    let name: String
    let processor: P
    let context: ProcessorContext<P.KeyOut, P.ValueOut>

    init(name: String, processor: P, task: TaskContext, stores: Set<String>) {
        self.name = name
        self.processor = processor
        self.context = ProcessorContext(task: task, nodeName: name, connectedStores: stores)
    }

    func initialize() throws {
        try tagged { try processor.initialize(context: context) }
    }

    func receive(_ record: StreamRecord<P.KeyIn, P.ValueIn>) throws {
        try tagged { try processor.process(record) }
    }

    func close() throws {
        try tagged { try processor.close() }
    }

    @inline(__always)
    private func tagged(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as StreamsError {
            throw error
        } catch {
            throw StreamsError.processing(node: name, underlying: error)
        }
    }
}

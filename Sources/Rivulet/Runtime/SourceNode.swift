/// Reads raw records into typed ones. A key or value that does not deserialize goes to the
/// deserialization exception handler, which skips the record or fails the task.
final class SourceNode<Key, Value>: SourceRuntimeNode, ForwardingNode {
    let name: String
    let context: ProcessorContext<Key, Value>
    private let keySerde: Serde<Key>
    private let valueSerde: Serde<Value>

    init(name: String, task: TaskContext, keySerde: Serde<Key>, valueSerde: Serde<Value>) {
        self.name = name
        self.context = ProcessorContext(task: task, nodeName: name, connectedStores: [])
        self.keySerde = keySerde
        self.valueSerde = valueSerde
    }

    func initialize() throws {}
    func close() throws {}

    func process(_ raw: RawRecord, timestamp: Int64) throws {
        let key: Key
        let value: Value
        do {
            key = try keySerde.deserialize(raw.key)
            value = try valueSerde.deserialize(raw.value)
        } catch {
            let failure = DeserializationExceptionHandler.Failure(sourceNode: name, record: raw, error: error)
            switch context.task.config.deserializationExceptionHandler.handle(failure) {
            case .continue: return
            case .fail: throw StreamsError.deserialization(source: name, record: raw, underlying: error)
            }
        }
        try context.forward(StreamRecord(key: key, value: value, timestamp: timestamp, headers: raw.headers))
    }
}

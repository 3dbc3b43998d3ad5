import NIOCore

/// Reads raw records into typed ones. A key or value that does not deserialize goes to the
/// deserialization exception handler, which skips the record or fails the task.
final class SourceNode<Key, Value>: SourceRuntimeNode, ForwardingNode {
    let name: String
    let context: ProcessorContext<Key, Value>
    /// The serdes' functions (see ``Serde/serializer``).
    private let deserializeKey: @Sendable (ByteBuffer?) throws -> Key
    private let deserializeValue: @Sendable (ByteBuffer?) throws -> Value

    init(name: String, task: TaskContext, keySerde: Serde<Key>, valueSerde: Serde<Value>) {
        self.name = name
        self.context = ProcessorContext(task: task, nodeName: name, connectedStores: [])
        self.deserializeKey = keySerde.deserializer
        self.deserializeValue = valueSerde.deserializer
    }

    func initialize() throws {}
    func close() throws {}

    func process(_ raw: RawRecord, timestamp: Int64) throws {
        let key: Key
        let value: Value
        do {
            key = try deserializeKey(raw.key)
            value = try deserializeValue(raw.value)
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

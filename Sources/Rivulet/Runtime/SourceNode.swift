import NIOCore

/// Reads raw records into typed ones. A key or value that does not deserialize goes to the
/// deserialization exception handler, which skips the record or fails the task.
@usableFromInline
final class SourceNode<Key, Value>: ForwardingNode {
    @usableFromInline let name: String
    @usableFromInline let context: ProcessorContext<Key, Value>
    /// The serdes' functions (see ``Serde/serializer``).
    @usableFromInline let deserializeKey: @Sendable (ByteBuffer?) throws -> Key
    @usableFromInline let deserializeValue: @Sendable (ByteBuffer?) throws -> Value

    @usableFromInline
    init(name: String, task: TaskContext, keySerde: Serde<Key>, valueSerde: Serde<Value>) {
        self.name = name
        self.context = ProcessorContext(task: task, nodeName: name, connectedStores: [])
        self.deserializeKey = keySerde.deserializer
        self.deserializeValue = valueSerde.deserializer
    }

    @usableFromInline func initialize() throws {}
    @usableFromInline func close() throws {}

    @inlinable
    func process(_ raw: RawRecord, timestamp: Int64) throws {
        let key: Key
        let value: Value
        do {
            key = try deserializeKey(raw.key)
            value = try deserializeValue(raw.value)
        } catch {
            try deserializationFailed(raw, error)
            return
        }
        try context.forward(StreamRecord(key: key, value: value, timestamp: timestamp, headers: raw.headers))
    }

    /// Hands a record that did not deserialize to the handler: returns to skip it, throws to fail.
    @usableFromInline
    func deserializationFailed(_ raw: RawRecord, _ error: any Error) throws {
        let failure = DeserializationExceptionHandler.Failure(sourceNode: name, record: raw, error: error)
        switch context.task.config.deserializationExceptionHandler.handle(failure) {
        case .continue: return
        case .fail: throw StreamsError.deserialization(source: name, record: raw, underlying: error)
        }
    }
}

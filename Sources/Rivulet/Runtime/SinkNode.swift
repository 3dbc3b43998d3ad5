import NIOCore

/// Serializes records and hands them to the task's record collector.
final class SinkNode<Key, Value>: RuntimeNode, RecordReceiver {
    let name: String
    private let topic: String
    private let task: TaskContext
    /// The serdes' functions (see ``Serde/serializer``).
    private let serializeKey: @Sendable (Key) throws -> ByteBuffer?
    private let serializeValue: @Sendable (Value) throws -> ByteBuffer?
    private let partitioner: StreamPartitioner<Key, Value>?

    init(
        name: String, topic: String, task: TaskContext,
        keySerde: Serde<Key>, valueSerde: Serde<Value>, partitioner: StreamPartitioner<Key, Value>?
    ) {
        self.name = name
        self.topic = topic
        self.task = task
        self.serializeKey = keySerde.serializer
        self.serializeValue = valueSerde.serializer
        self.partitioner = partitioner
    }

    func addChild(_ child: any RuntimeNode) throws {
        throw StreamsError.invalidTopology("sink \(name) cannot have children")
    }

    func initialize() throws {}
    func close() throws {}

    func receive(_ record: StreamRecord<Key, Value>) throws {
        let key: ByteBuffer?
        let value: ByteBuffer?
        do {
            key = try serializeKey(record.key)
            value = try serializeValue(record.value)
        } catch {
            throw StreamsError.processing(node: name, underlying: error)
        }
        var partition: Int32?
        if let partitioner, let count = task.collector.partitionCount(of: topic) {
            partition = partitioner.partition(topic: topic, key: record.key, value: record.value, partitionCount: count)
        }
        try task.collector.send(
            topic: topic, partition: partition, timestamp: record.timestamp,
            key: key, value: value, headers: record.headers
        )
    }
}

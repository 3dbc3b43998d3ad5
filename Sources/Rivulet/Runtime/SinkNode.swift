import NIOCore

/// Serializes records and hands them to the task's record collector.
@usableFromInline
final class SinkNode<Key, Value>: RuntimeNode {
    @usableFromInline let name: String
    @usableFromInline let topic: String
    @usableFromInline let task: TaskContext
    /// The serdes' writers (closures: see ``Serde/serializer``).
    @usableFromInline let writeKey: Serde<Key>.Writer
    @usableFromInline let writeValue: Serde<Value>.Writer
    @usableFromInline let partitioner: StreamPartitioner<Key, Value>?

    @usableFromInline
    init(
        name: String, topic: String, task: TaskContext,
        keySerde: Serde<Key>, valueSerde: Serde<Value>, partitioner: StreamPartitioner<Key, Value>?
    ) {
        self.name = name
        self.topic = topic
        self.task = task
        self.writeKey = keySerde.writer
        self.writeValue = valueSerde.writer
        self.partitioner = partitioner
    }

    @usableFromInline
    func addChild(_ child: BuiltNode) throws {
        throw StreamsError.invalidTopology("sink \(name) cannot have children")
    }

    @usableFromInline func initialize() throws {}
    @usableFromInline func close() throws {}

    /// Key and value are written one after the other into the collector's buffer (the Kafka
    /// runtime's collector keeps every record of a hand-over in one buffer): no buffer of its
    /// own per record. The partitioner sees the record before it is serialized.
    @inlinable
    func receive(_ record: StreamRecord<Key, Value>) throws {
        var partition: Int32?
        if let partitioner, let count = task.collector.partitionCount(of: topic) {
            partition = partitioner.partition(topic: topic, key: record.key, value: record.value, partitionCount: count)
        }
        try task.collector.send(topic: topic, partition: partition, timestamp: record.timestamp, headers: record.headers) { buffer in
            do {
                let start = buffer.writerIndex
                let hasKey = try writeKey(record.key, &buffer)
                // The value follows the key: nothing of a null key may stay in between.
                if !hasKey { buffer.moveWriterIndex(to: start) }
                let keyEnd = buffer.writerIndex
                let hasValue = try writeValue(record.value, &buffer)
                return (hasKey ? keyEnd - start : nil, hasValue ? buffer.writerIndex - keyEnd : nil)
            } catch {
                throw StreamsError.processing(node: name, underlying: error)
            }
        }
    }
}

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

    /// Bytes a record's buffer starts with; larger records grow it.
    @inlinable
    static var startingCapacity: Int { 64 }

    @usableFromInline func initialize() throws {}
    @usableFromInline func close() throws {}

    /// Key and value are written one after the other into one new buffer and handed on as two
    /// slices of it: one allocation per record instead of two, made at a size that fits small
    /// records (a buffer that starts empty is copied on its first write, which also checks
    /// exclusive access). The producer copies the bytes into its batch.
    @inlinable
    func receive(_ record: StreamRecord<Key, Value>) throws {
        let key: ByteBuffer?
        let value: ByteBuffer?
        do {
            var buffer = ByteBufferAllocator().buffer(capacity: Self.startingCapacity)
            let hasKey = try writeKey(record.key, &buffer)
            let keyEnd = buffer.writerIndex
            let hasValue = try writeValue(record.value, &buffer)
            key = hasKey ? buffer.getSlice(at: 0, length: keyEnd) : nil
            value = hasValue ? buffer.getSlice(at: keyEnd, length: buffer.writerIndex - keyEnd) : nil
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

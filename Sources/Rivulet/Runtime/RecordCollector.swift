import KafkaProtocol
import NIOCore

/// Where a task's output goes: records for sink topics and changelog writes. The Kafka runtime
/// implements it over a producer; the test driver keeps records in memory.
public protocol RecordCollector: AnyObject {
    /// Sends a record. `partition == nil` leaves the choice to the default partitioner (murmur2 of
    /// the key bytes, as Kafka's producers choose).
    func send(
        topic: String, partition: Int32?, timestamp: Int64,
        key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]
    ) throws
    /// Sends a record whose key and value `serialize` writes at the writer index of a buffer the
    /// collector lends, key first, returning their lengths (`nil` for null): a collector that
    /// keeps many records' bytes in one buffer spares a buffer per record. When `serialize`
    /// throws, nothing is sent. By default the bytes go into a buffer of their own, handed to
    /// ``send(topic:partition:timestamp:key:value:headers:)``.
    func send(
        topic: String, partition: Int32?, timestamp: Int64, headers: [RecordHeader],
        serialize: (inout ByteBuffer) throws -> (keyLength: Int?, valueLength: Int?)
    ) throws
    /// How many partitions a topic has, for custom partitioners; `nil` when unknown.
    func partitionCount(of topic: String) -> Int32?
    /// Called by a task's `prepareCommit`. A collector that delivers synchronously waits here until
    /// everything sent is acknowledged; the Kafka runtime's collector delivers asynchronously, and
    /// its stream thread awaits the acknowledgements after `prepareCommit`, before committing offsets.
    func flush() throws
    /// The offset of the last record acknowledged per partition (changelog checkpoints use it).
    var offsets: [TopicPartition: Int64] { get }
}

extension RecordCollector {
    public func send(
        topic: String, partition: Int32?, timestamp: Int64, headers: [RecordHeader],
        serialize: (inout ByteBuffer) throws -> (keyLength: Int?, valueLength: Int?)
    ) throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        let (keyLength, valueLength) = try serialize(&buffer)
        let key = keyLength.flatMap { buffer.getSlice(at: 0, length: $0) }
        let value = valueLength.flatMap { buffer.getSlice(at: max(keyLength ?? 0, 0), length: $0) }
        try send(topic: topic, partition: partition, timestamp: timestamp, key: key, value: value, headers: headers)
    }
}

/// Chooses the partition of a record a sink writes (Kafka's `StreamPartitioner`).
public struct StreamPartitioner<Key, Value>: Sendable {
    let choose: @Sendable (_ topic: String, _ key: Key, _ value: Value, _ partitionCount: Int32) -> Int32?

    /// `choose` returns a partition in `0..<partitionCount`, or `nil` for the default partitioner.
    public init(_ choose: @escaping @Sendable (_ topic: String, _ key: Key, _ value: Value, _ partitionCount: Int32) -> Int32?) {
        self.choose = choose
    }

    public func partition(topic: String, key: Key, value: Value, partitionCount: Int32) -> Int32? {
        choose(topic, key, value, partitionCount)
    }
}

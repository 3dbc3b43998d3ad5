import KafkaProtocol
import NIOCore

/// A record as it crosses the edge of a topology, in bytes: what a source reads from a topic
/// partition, and what a sink writes to one.
public struct RawRecord: Sendable {
    public var topic: String
    public var partition: Int32
    /// The offset in its partition; -1 for a record not yet written.
    public var offset: Int64
    public var timestamp: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    public init(
        topic: String, partition: Int32, offset: Int64, timestamp: Int64,
        key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}

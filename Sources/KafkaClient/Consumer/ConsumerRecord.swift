import KafkaProtocol
import NIOCore

/// A record as the consumer returns it: where it came from and what it holds.
///
/// `key`, `value` and header values are slices of the fetched (for a compressed batch, the
/// decompressed) bytes: nothing is copied per record, and the fetched buffer stays alive as
/// long as any record of it does.
public struct ConsumerRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch; see `timestampType` for who set it.
    public var timestamp: Int64
    public var timestampType: TimestampType
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// The leader epoch of the batch the record came in, when the broker stamped one.
    public var leaderEpoch: Int32?

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64, timestampType: TimestampType = .createTime,
                key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = [], leaderEpoch: Int32? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.key = key
        self.value = value
        self.headers = headers
        self.leaderEpoch = leaderEpoch
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
}

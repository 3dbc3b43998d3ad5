/// Where an acknowledged record was written.
public struct RecordMetadata: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    /// The record's offset in the partition; -1 with `acks = .none`, which gets no answer, and
    /// for a retried batch a broker reported only as a duplicate without its offset.
    public var offset: Int64
    /// Milliseconds since the epoch: the record's own timestamp, or the broker's append time
    /// when the topic uses `message.timestamp.type=LogAppendTime`.
    public var timestamp: Int64

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }

    public var description: String { "\(topic)-\(partition)@\(offset)" }
}

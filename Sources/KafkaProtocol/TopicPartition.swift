/// A partition of a topic: the unit of ordering, assignment and offsets in Kafka.
public struct TopicPartition: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public init(_ topic: String, _ partition: Int32) {
        self.init(topic: topic, partition: partition)
    }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        lhs.topic != rhs.topic ? lhs.topic < rhs.topic : lhs.partition < rhs.partition
    }

    /// `topic-partition`, as Kafka prints it.
    public var description: String { "\(topic)-\(partition)" }
}

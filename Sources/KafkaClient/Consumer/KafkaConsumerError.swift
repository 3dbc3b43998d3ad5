import KafkaProtocol

/// Errors the consumer raises to the application, in addition to `KafkaClientError`.
public enum KafkaConsumerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `auto.offset.reset=none` and the partition has no committed offset: seek before polling it.
    case noOffset(TopicPartition)
    /// `auto.offset.reset=none` and the position is outside the log: seek before polling it.
    case offsetOutOfRange(TopicPartition, offset: Int64)
    /// The operation needs `group.id`.
    case groupIdRequired(operation: String)
    /// The partition is not assigned to this consumer.
    case notAssigned(TopicPartition)
    /// The topic pattern of `subscribe(pattern:)` is not a valid regular expression.
    case invalidPattern(String)
    /// The commit was refused because the group rebalanced since the offsets were read
    /// (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS); the partitions may belong
    /// to another member now.
    case commitFailed(KafkaErrorCode)
    /// Another instance with the same `group.instance.id` took this member's place.
    case fencedInstanceId(String)
    /// The coordinator refused membership for good (INCONSISTENT_GROUP_PROTOCOL, GROUP_AUTHORIZATION_FAILED…).
    case groupMembershipFailed(KafkaErrorCode)
    /// A partition's fetched data could not be decoded.
    case corruptRecord(TopicPartition, offset: Int64, reason: String)
    /// Subscribe and assign are exclusive; call `unsubscribe()` first.
    case subscriptionConflict
    /// The consumer was closed.
    case closed

    public var description: String {
        switch self {
        case let .noOffset(partition): return "no committed offset for \(partition) and auto.offset.reset=none"
        case let .offsetOutOfRange(partition, offset): return "offset \(offset) out of range for \(partition) and auto.offset.reset=none"
        case let .groupIdRequired(operation): return "\(operation) needs group.id"
        case let .notAssigned(partition): return "\(partition) is not assigned to this consumer"
        case let .invalidPattern(pattern): return "invalid topic pattern '\(pattern)'"
        case let .commitFailed(code): return "commit failed: the group rebalanced (\(code))"
        case let .fencedInstanceId(id): return "group.instance.id '\(id)' was fenced by a newer instance"
        case let .groupMembershipFailed(code): return "group membership failed: \(code)"
        case let .corruptRecord(partition, offset, reason): return "corrupt record in \(partition) at offset \(offset): \(reason)"
        case .subscriptionConflict: return "subscribe and assign are exclusive; unsubscribe first"
        case .closed: return "consumer closed"
        }
    }
}

import KafkaProtocol

/// Why restoring a store from its changelog partition stopped. Every case names the partition
/// and the offsets the restorer saw, so the operator can tell a slow broker from a changed log.
public enum ChangelogRestorationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No progress for `waited`: the restore consumer's position stayed at `position`, short of
    /// `endOffset`, and re-reading the partition's offsets did not explain why (the broker is
    /// unreachable, or the partition is not served).
    case stalled(partition: TopicPartition, position: Int64, endOffset: Int64, logStartOffset: Int64?, waited: Duration)
    /// The changelog was truncated or recreated while it was read: its end offset fell to
    /// `endOffset`, below the `position` already restored. The store holds records the
    /// changelog no longer has; it must be wiped and restored from scratch.
    case truncated(partition: TopicPartition, position: Int64, endOffset: Int64)
    /// Records the store still needed were deleted (DeleteRecords, retention) while it was
    /// restored: the log now starts at `logStartOffset`, past the `position` reached. The store
    /// must be wiped and restored from the log start.
    case recordsDeleted(partition: TopicPartition, position: Int64, logStartOffset: Int64)

    public var partition: TopicPartition {
        switch self {
        case let .stalled(partition, _, _, _, _), let .truncated(partition, _, _), let .recordsDeleted(partition, _, _):
            return partition
        }
    }

    public var description: String {
        switch self {
        case let .stalled(partition, position, end, logStart, waited):
            let start = logStart.map { ", log start \($0)" } ?? ""
            return "restoring \(partition) made no progress for \(waited): position \(position), end offset \(end)\(start)"
        case let .truncated(partition, position, end):
            return "changelog \(partition) was truncated while it was restored: end offset \(end) is below position \(position)"
        case let .recordsDeleted(partition, position, logStart):
            return "records of changelog \(partition) were deleted while it was restored: log start \(logStart) is past position \(position)"
        }
    }
}

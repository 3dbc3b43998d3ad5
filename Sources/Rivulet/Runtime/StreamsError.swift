/// Failures that stop a task.
public enum StreamsError: Error, Sendable, CustomStringConvertible {
    /// A record could not be deserialized and the handler said to fail.
    case deserialization(source: String, record: RawRecord, underlying: any Error)
    /// A processor threw.
    case processing(node: String, underlying: any Error)
    /// A record's timestamp is negative and the extractor says to fail.
    case invalidTimestamp(record: RawRecord, timestamp: Int64)
    /// A record arrived for a topic partition that no source of the task reads.
    case unknownPartition(topic: String, partition: Int32)
    /// The topology cannot run as given.
    case invalidTopology(String)
    /// A task or driver was used in a state that does not allow it (processing before
    /// restoration ended, piping into a closed driver).
    case illegalState(String)
    /// A record could not be sent to `topic` (at least once, nothing may be skipped: the thread stops).
    case send(topic: String, underlying: any Error)
    /// The group leader could not assign tasks (joined topics with different partition counts, ...).
    case assignment(String)
    /// Restoring a store from its changelog failed for good: no progress for the restorer's
    /// stall timeout. (A changelog truncated or with records deleted beneath the restore is
    /// handled by the stream thread: it wipes the task's state and restores it again.)
    case restoration(ChangelogRestorationError)
    /// Setting the application up on the cluster failed (missing source topics, internal topics
    /// with the wrong partition count, ...).
    case setup(String)

    public var description: String {
        switch self {
        case .deserialization(let source, let record, let underlying):
            return "deserialization failed in \(source) for \(record.topic)-\(record.partition)@\(record.offset): \(underlying)"
        case .processing(let node, let underlying):
            return "processor \(node) failed: \(underlying)"
        case .invalidTimestamp(let record, let timestamp):
            return "invalid timestamp \(timestamp) for \(record.topic)-\(record.partition)@\(record.offset)"
        case .unknownPartition(let topic, let partition):
            return "no source reads \(topic)-\(partition)"
        case .invalidTopology(let reason):
            return "invalid topology: \(reason)"
        case .illegalState(let reason):
            return reason
        case .send(let topic, let underlying):
            return "sending to \(topic) failed: \(underlying)"
        case .assignment(let reason):
            return "task assignment failed: \(reason)"
        case .restoration(let error):
            return "restoration failed: \(error)"
        case .setup(let reason):
            return reason
        }
    }
}

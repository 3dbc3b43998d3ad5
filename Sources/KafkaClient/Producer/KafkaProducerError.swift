import KafkaProtocol

/// Why a record was not delivered. Every case leaves the producer usable: later records are
/// unaffected, except after `close()`.
public enum KafkaProducerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The cluster's metadata says the topic does not exist (and it was not auto-created).
    case unknownTopic(String)
    /// The record names a partition the topic does not have.
    case unknownPartition(topic: String, partition: Int32, partitionCount: Int32)
    /// The record alone is larger than `maxRequestSize` (or `bufferMemory`): refused before
    /// anything is sent.
    case recordTooLarge(size: Int, limit: Int)
    /// The broker refused the batch as larger than the topic's `max.message.bytes` (MESSAGE_TOO_LARGE).
    case messageTooLarge(topic: String, partition: Int32)
    /// No broker could be reached before the delivery timeout (or `maxBlock` while waiting for
    /// metadata): every attempt failed to connect or lost its connection.
    case brokerUnreachable(reason: String)
    /// The record was not acknowledged within `deliveryTimeout` (or within `retries`); `lastError`
    /// says what the last attempt ran into.
    case deliveryTimedOut(topic: String, partition: Int32, lastError: String?)
    /// `send` waited `maxBlock` for room in the buffer (`bufferMemory`) or for metadata.
    case timedOut(waiting: String)
    /// The broker refused the batch with an error that retrying cannot fix.
    case broker(KafkaResponseError)
    /// The configuration is inconsistent, for example idempotence with `acks` other than `.all`.
    case invalidConfiguration(String)
    /// The task calling `send` was cancelled before the record was accepted.
    case cancelled
    /// The producer was closed before the record was delivered.
    case closed

    public var description: String {
        switch self {
        case let .unknownTopic(topic): return "unknown topic '\(topic)'"
        case let .unknownPartition(topic, partition, count): return "topic '\(topic)' has \(count) partitions, no partition \(partition)"
        case let .recordTooLarge(size, limit): return "record of \(size) bytes exceeds the limit of \(limit) bytes"
        case let .messageTooLarge(topic, partition): return "broker refused a batch for \(topic)-\(partition) as too large (MESSAGE_TOO_LARGE)"
        case let .brokerUnreachable(reason): return "broker unreachable: \(reason)"
        case let .deliveryTimedOut(topic, partition, lastError):
            return "delivery to \(topic)-\(partition) timed out" + (lastError.map { " (last error: \($0))" } ?? "")
        case let .timedOut(waiting): return "timed out waiting for \(waiting)"
        case let .broker(error): return error.description
        case let .invalidConfiguration(reason): return "invalid producer configuration: \(reason)"
        case .cancelled: return "cancelled"
        case .closed: return "producer closed"
        }
    }
}

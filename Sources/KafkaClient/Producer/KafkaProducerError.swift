import KafkaProtocol

/// Why a record was not delivered, or a transactional call failed.
///
/// Without transactions every case leaves the producer usable: later records are unaffected,
/// except after `close()`. A transactional producer sorts its errors into three classes
/// (see `isFatal` and `requiresAbort`, and docs/exactly-once.md):
/// - **fatal** (`transactionFatal`): the producer was fenced by a newer instance with the same
///   transactional id, or is not allowed to use it. It writes nothing more; close it and, if
///   this instance should still run, make a new producer.
/// - **abortable** (`transactionAbortable`, and a record's own delivery error inside a
///   transaction): the transaction cannot commit. Call `abortTransaction()`, rewind the input
///   to the last committed offsets and process it again in a new transaction.
/// - **retriable** errors (coordinator moves, concurrent transactions, lost connections) are
///   retried inside the client and surface only as `timedOut` when they outlast `maxBlock`.
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
    /// Fatal for a transactional producer: PRODUCER_FENCED or INVALID_PRODUCER_EPOCH (a newer
    /// producer with the same transactional id took over, or the coordinator aborted a
    /// transaction that outlived its timeout and bumped the epoch), or
    /// TRANSACTIONAL_ID_AUTHORIZATION_FAILED. Every later call fails with this error.
    case transactionFatal(KafkaResponseError)
    /// The current transaction cannot commit (a record was not delivered, the consumer's group
    /// generation is stale, a partition was refused): call `abortTransaction()` and retry.
    case transactionAbortable(reason: String)
    /// The record was in a transaction that was aborted before it was sent.
    case transactionAborted
    /// A transactional call came out of order (`send` before `beginTransaction()`, a second
    /// `initTransactions()`, a transactional call on a producer without `transactionalId`...).
    case invalidTransactionState(operation: String, state: TransactionState)

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
        case let .transactionFatal(error): return "fatal transaction error, close the producer: \(error)"
        case let .transactionAbortable(reason): return "transaction must be aborted: \(reason)"
        case .transactionAborted: return "the record's transaction was aborted"
        case let .invalidTransactionState(operation, state): return "\(operation) is not allowed in transaction state \(state)"
        }
    }

    /// The producer cannot go on (fenced, not authorized): close it.
    public var isFatal: Bool {
        if case .transactionFatal = self { return true }
        return false
    }

    /// Inside a transaction: the transaction cannot commit and must be aborted. Every delivery
    /// error of a record sent in a transaction has this effect too, reported by
    /// `commitTransaction()` as `transactionAbortable`.
    public var requiresAbort: Bool {
        if case .transactionAbortable = self { return true }
        return false
    }
}

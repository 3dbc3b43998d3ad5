import KafkaProtocol

/// Why one attempt to deliver a batch failed, and what that implies for retrying it.
enum ProduceFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection failed or closed, or the response did not come in time: the broker may
    /// or may not have written the batch.
    case connection(String)
    /// The request was never written (its connection was gone): certainly not in the log.
    case notSent(String)
    /// The broker answered this partition with an error code.
    case broker(KafkaErrorCode, message: String?)
    /// The batch could not be encoded (a codec failed); sending it again would fail again.
    case encoding(String)

    /// Whether the broker might have written the batch despite the failure.
    var isAmbiguous: Bool {
        switch self {
        case .connection: return true
        case .notSent: return false
        // The leader wrote the batch but replication did not finish in time.
        case .broker(let code, _): return code == .requestTimedOut || code == .networkException
        case .encoding: return false
        }
    }

    /// Whether sending the batch again can succeed.
    var isRetriable: Bool {
        switch self {
        case .connection, .notSent: return true
        case .encoding: return false
        case .broker(let code, _):
            switch code {
            case .outOfOrderSequenceNumber, .unknownProducerId, .invalidProducerEpoch, .duplicateSequenceNumber: return true
            case .messageTooLarge, .recordListTooLarge, .invalidRecord, .invalidRequiredAcks, .topicAuthorizationFailed,
                 .clusterAuthorizationFailed, .transactionalIdAuthorizationFailed, .unsupportedForMessageFormat,
                 .invalidTimestamp, .unsupportedVersion, .producerFenced:
                return false
            default: return code.isRetriable
            }
        }
    }

    /// Whether metadata may be stale: the leader moved, or the topic changed.
    var invalidatesMetadata: Bool {
        switch self {
        case .connection: return true
        case .notSent, .encoding: return false
        case .broker(let code, _):
            switch code {
            case .notLeaderOrFollower, .leaderNotAvailable, .unknownTopicOrPartition, .fencedLeaderEpoch,
                 .unknownLeaderEpoch, .brokerNotAvailable, .notEnoughReplicas, .kafkaStorageError:
                return true
            default: return false
            }
        }
    }

    var description: String {
        switch self {
        case .connection(let reason), .notSent(let reason): return reason
        case let .broker(code, message): return "\(code)" + (message.map { ": \($0)" } ?? "")
        case .encoding(let reason): return "cannot encode batch: \(reason)"
        }
    }

    /// The error a record reports when this failure is final.
    func producerError(for topicPartition: TopicPartition) -> KafkaProducerError {
        switch self {
        case .connection(let reason), .notSent(let reason): return .brokerUnreachable(reason: reason)
        case .encoding(let reason): return .broker(KafkaResponseError(code: .unknownServerError, message: reason, context: "encoding a batch for \(topicPartition)"))
        case let .broker(code, message):
            switch code {
            case .messageTooLarge, .recordListTooLarge: return .messageTooLarge(topic: topicPartition.topic, partition: topicPartition.partition)
            case .unknownTopicOrPartition: return .unknownTopic(topicPartition.topic)
            default: return .broker(KafkaResponseError(code: code, message: message, context: "produce to \(topicPartition)"))
            }
        }
    }

    /// The error of a batch that ran out of time (or retries) after this failure.
    func timeoutError(for topicPartition: TopicPartition) -> KafkaProducerError {
        switch self {
        case .connection(let reason), .notSent(let reason): return .brokerUnreachable(reason: reason)
        case .broker(.unknownTopicOrPartition, _): return .unknownTopic(topicPartition.topic)
        default: return .deliveryTimedOut(topic: topicPartition.topic, partition: topicPartition.partition, lastError: description)
        }
    }
}

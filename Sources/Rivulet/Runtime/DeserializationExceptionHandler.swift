import Logging

/// Decides what happens to a record whose key or value a source cannot deserialize: skip it and
/// go on, or fail the task. Either way nothing crashes.
public struct DeserializationExceptionHandler: Sendable {
    public enum Response: Sendable, Equatable {
        /// Skip the record (its offset is still committed: it will not come back).
        case `continue`
        /// Fail the task with ``StreamsError/deserialization(source:record:underlying:)``.
        case fail
    }

    /// What the handler is told.
    public struct Failure: Sendable {
        /// The source node that read the record.
        public var sourceNode: String
        public var record: RawRecord
        public var error: any Error
    }

    private let decide: @Sendable (Failure) -> Response

    public init(_ decide: @escaping @Sendable (Failure) -> Response) {
        self.decide = decide
    }

    public func handle(_ failure: Failure) -> Response { decide(failure) }

    private static let logger = Logger(label: "rivulet.streams.deserialization")

    /// Logs a warning and skips the record (Kafka's `LogAndContinueExceptionHandler`).
    public static var logAndContinue: DeserializationExceptionHandler {
        DeserializationExceptionHandler { failure in
            logger.warning("skipping record that failed to deserialize", metadata: failure.logMetadata)
            return .continue
        }
    }

    /// Logs an error and fails the task (Kafka's `LogAndFailExceptionHandler`, the default).
    public static var logAndFail: DeserializationExceptionHandler {
        DeserializationExceptionHandler { failure in
            logger.error("record failed to deserialize", metadata: failure.logMetadata)
            return .fail
        }
    }
}

extension DeserializationExceptionHandler.Failure {
    var logMetadata: Logger.Metadata {
        [
            "source": "\(sourceNode)",
            "topic": "\(record.topic)",
            "partition": "\(record.partition)",
            "offset": "\(record.offset)",
            "error": "\(error)",
        ]
    }
}

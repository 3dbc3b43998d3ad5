/// The outcome of a record sent with `KafkaProducer.sendAndForget(_:)`, delivered on
/// `KafkaProducer.deliveryReports`.
public struct DeliveryReport: Sendable {
    /// The record as written: decoded back from its batch (so after interceptors rewrote it),
    /// with the partition it went to and its timestamp.
    public var record: ProducerRecord
    /// Where it was written, or why it was not.
    public var result: Result<RecordMetadata, KafkaProducerError>

    public init(record: ProducerRecord, result: Result<RecordMetadata, KafkaProducerError>) {
        self.record = record
        self.result = result
    }
}

/// Which outcomes of `sendAndForget` reach `KafkaProducer.deliveryReports`.
public enum DeliveryReportMode: Sendable {
    /// Every record: successes and failures.
    case all
    /// Only records that were not delivered.
    case failuresOnly
    /// None.
    case none
}

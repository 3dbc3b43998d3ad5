/// Observes, and may rewrite, every record a producer sends.
///
/// `onSend` runs in the task calling `send`, before the record is partitioned and checked, so
/// it may change any field (topic included). `onAcknowledgement` and `onError` run where the
/// outcome is learned, often on a network thread: keep them short and never block in them.
/// Interceptors run in the order configured; each `onSend` sees the previous one's output.
public protocol ProducerInterceptor: Sendable {
    /// Returns the record to send instead of `record` (by default, `record` itself).
    func onSend(_ record: ProducerRecord) -> ProducerRecord
    /// A record was acknowledged.
    func onAcknowledgement(_ metadata: RecordMetadata)
    /// A record failed: refused by `send` (partition is then `nil` when none was chosen yet)
    /// or not delivered.
    func onError(_ error: KafkaProducerError, topic: String, partition: Int32?)
}

extension ProducerInterceptor {
    public func onSend(_ record: ProducerRecord) -> ProducerRecord { record }
    public func onAcknowledgement(_ metadata: RecordMetadata) {}
    public func onError(_ error: KafkaProducerError, topic: String, partition: Int32?) {}
}

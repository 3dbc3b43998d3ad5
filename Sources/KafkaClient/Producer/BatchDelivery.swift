import KafkaProtocol

/// The outcome of one batch of records sent to one partition, as a
/// `ProducerConfiguration.onBatchCompletion` handler sees it: a summary that costs nothing per
/// record, for callers that count outcomes rather than read every record back.
public struct BatchDelivery: Sendable {
    /// The partition the batch was written to.
    public var topicPartition: TopicPartition
    /// How many records the batch held.
    public var recordCount: Int
    /// The offset of the batch's first record (-1 when the broker did not say: acks = 0, or a
    /// duplicate acknowledged without offsets), or why the batch was not delivered.
    public var result: Result<Int64, KafkaProducerError>

    public init(topicPartition: TopicPartition, recordCount: Int, result: Result<Int64, KafkaProducerError>) {
        self.topicPartition = topicPartition
        self.recordCount = recordCount
        self.result = result
    }

    /// The offset of the batch's last record, when it was delivered and the offsets are known.
    public var lastOffset: Int64? {
        guard case .success(let base) = result, base >= 0, recordCount > 0 else { return nil }
        return base + Int64(recordCount) - 1
    }
}

import KafkaProtocol

/// Hears about the restoration of stores from their changelogs (Kafka Streams'
/// `StateRestoreListener`), for progress reports and metrics. Called from stream threads.
public struct StateRestoreListener: Sendable {
    /// A changelog partition is about to be read from `startOffset` up to `endOffset` (exclusive).
    public var onRestoreStart: (@Sendable (_ changelog: TopicPartition, _ startOffset: Int64, _ endOffset: Int64) -> Void)?
    /// A changelog partition was read to its end offset; `restored` records were applied.
    public var onRestoreEnd: (@Sendable (_ changelog: TopicPartition, _ restored: Int) -> Void)?

    /// A listener of the given callbacks.
    public init(
        onRestoreStart: (@Sendable (_ changelog: TopicPartition, _ startOffset: Int64, _ endOffset: Int64) -> Void)? = nil,
        onRestoreEnd: (@Sendable (_ changelog: TopicPartition, _ restored: Int) -> Void)? = nil
    ) {
        self.onRestoreStart = onRestoreStart
        self.onRestoreEnd = onRestoreEnd
    }
}

/// Gives each input record the timestamp that stream time, windows and joins use.
public struct TimestampExtractor: Sendable {
    /// What to do with a negative (invalid) timestamp.
    public enum Invalid: Sendable {
        /// Fail the task (Kafka's `FailOnInvalidTimestamp`, the default).
        case fail
        /// Drop the record with a warning.
        case skip
    }

    let extract: @Sendable (_ record: RawRecord, _ partitionTime: Int64) -> Int64
    let onInvalid: Invalid
    /// Set by the built-in extractors that return the record's own timestamp: a task then reads
    /// it without calling `extract` (a call that takes the record in memory, where the task's
    /// per-record path would otherwise copy it).
    let isRecordTimestamp: Bool

    /// A custom extractor; it sees the raw record and the largest timestamp seen so far on the
    /// record's partition (-1 before the first).
    public init(onInvalid: Invalid = .fail, _ extract: @escaping @Sendable (_ record: RawRecord, _ partitionTime: Int64) -> Int64) {
        self.extract = extract
        self.onInvalid = onInvalid
        self.isRecordTimestamp = false
    }

    private init(recordTimestampOnInvalid onInvalid: Invalid) {
        self.extract = { record, _ in record.timestamp }
        self.onInvalid = onInvalid
        self.isRecordTimestamp = true
    }

    /// The record's own timestamp (create time or log-append time).
    public static var recordTimestamp: TimestampExtractor {
        TimestampExtractor(recordTimestampOnInvalid: .fail)
    }

    /// The record's own timestamp; records without a valid one are dropped.
    public static var recordTimestampSkippingInvalid: TimestampExtractor {
        TimestampExtractor(recordTimestampOnInvalid: .skip)
    }

    /// The record's own timestamp, or the partition's time when it has none.
    public static var recordTimestampOrPartitionTime: TimestampExtractor {
        TimestampExtractor(onInvalid: .skip) { record, partitionTime in
            record.timestamp >= 0 ? record.timestamp : partitionTime
        }
    }
}

/// What a record's timestamp means, from bit 3 of the batch attributes.
public enum TimestampType: Int, Sendable, Hashable {
    /// Set by the producer when it created the record.
    case createTime = 0
    /// Set by the broker when it appended the batch; every record of the batch then has
    /// the batch's `maxTimestamp`, whatever its own delta says.
    case logAppendTime = 1
}

/// Where a manually assigned partition starts.
public enum StartOffset: Sendable, Hashable {
    /// The group's committed offset, else `auto.offset.reset`.
    case committed
    case beginning
    case end
    case offset(Int64)
}

/// A partition's watermarks as of its last fetch response.
public struct PartitionWatermarks: Sendable, Hashable {
    /// The first offset still in the log.
    public var logStartOffset: Int64
    /// The offset after the last replicated record.
    public var highWatermark: Int64
    /// The offset before which every transaction is decided; read_committed reads stop here.
    public var lastStableOffset: Int64
}

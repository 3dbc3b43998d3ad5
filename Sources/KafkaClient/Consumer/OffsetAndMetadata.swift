/// A committed (or to-be-committed) position: the offset of the next record to read, with the
/// application's metadata string and the leader epoch of the last record read, if known.
public struct OffsetAndMetadata: Sendable, Hashable {
    /// The next offset to read, which is one past the last record processed.
    public var offset: Int64
    /// Free text kept with the commit (`offset.metadata.max.bytes` limits its size on the broker).
    public var metadata: String?
    /// The leader epoch of the last record read, letting a later reader detect log truncation.
    public var leaderEpoch: Int32?

    public init(offset: Int64, metadata: String? = nil, leaderEpoch: Int32? = nil) {
        self.offset = offset
        self.metadata = metadata
        self.leaderEpoch = leaderEpoch
    }
}

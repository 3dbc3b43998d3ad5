import NIOCore

/// One record, whatever the format it was read from (magic 0, 1 or 2).
///
/// Decoded keys and values are slices sharing the storage of the batch they came
/// from (the decompressed buffer for a compressed batch): nothing is copied, and the
/// batch's memory lives as long as any of its records does.
public struct Record: Sendable, Hashable {
    /// The absolute offset in the partition.
    public var offset: Int64
    /// The offset relative to its batch's base offset (for legacy formats, to the first record of the entry).
    public var offsetDelta: Int32
    /// Milliseconds since the epoch, already resolved: for a batch with `LogAppendTime`
    /// this is the batch's `maxTimestamp`. -1 when the format has no timestamps (magic 0).
    public var timestamp: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    /// Record headers, in order; empty (and unallocated) for records without any.
    public var headers: [RecordHeader]

    public init(offset: Int64 = 0, offsetDelta: Int32 = 0, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []) {
        self.offset = offset
        self.offsetDelta = offsetDelta
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}

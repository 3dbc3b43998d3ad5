import NIOCore

/// One record of a store's changelog topic, as restoration consumes it.
public struct ChangelogRecord: Sendable {
    public var key: ByteBuffer
    /// `nil` is a delete.
    public var value: ByteBuffer?
    public var timestamp: Int64
    /// The record's offset in the changelog partition; restoration checkpoints `offset + 1`.
    public var offset: Int64

    public init(key: ByteBuffer, value: ByteBuffer?, timestamp: Int64, offset: Int64) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.offset = offset
    }
}

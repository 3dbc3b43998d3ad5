import NIOCore

/// One application header of a record (magic 2 only): a string key and an optional value.
public struct RecordHeader: Sendable, Hashable {
    public var key: String
    /// The value bytes; when decoded, a slice sharing the batch's buffer.
    public var value: ByteBuffer?

    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}

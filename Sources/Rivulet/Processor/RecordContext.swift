import KafkaProtocol

/// What a task knows about the record it is processing: its origin, timestamp and headers.
///
/// Caches keep one per entry so that a record they emit later carries the context of the write
/// that produced it, not of whatever record happens to trigger the flush.
public struct RecordContext: Sendable {
    /// `nil` for a punctuation, which has no input record.
    public var metadata: RecordMetadata?
    public var timestamp: Int64
    public var headers: [RecordHeader]

    public init(metadata: RecordMetadata?, timestamp: Int64, headers: [RecordHeader] = []) {
        self.metadata = metadata
        self.timestamp = timestamp
        self.headers = headers
    }

    /// Swaps this context's timestamp and headers with the given ones (one access to the
    /// context instead of a copy of it, for forwarding to make a record's stamp current and
    /// restore the previous one).
    @inlinable
    mutating func exchangeStamp(timestamp: inout Int64, headers: inout [RecordHeader]) {
        swap(&self.timestamp, &timestamp)
        swap(&self.headers, &headers)
    }

    /// The context of a punctuation at `time`: no origin, no headers.
    public static func punctuation(at time: Int64) -> RecordContext {
        RecordContext(metadata: nil, timestamp: time)
    }
}

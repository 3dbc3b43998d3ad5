import KafkaProtocol
import NIOCore

/// The bytes a record takes in a magic-2 batch, computed before it is appended: what `send`
/// checks against `maxRequestSize` and charges to `bufferMemory`.
enum RecordSize {
    /// Batch header plus the largest length prefix: what a batch of one record adds on top of it.
    static let batchOverhead = RecordBatchHeader.size + 5

    /// The record's encoded size, exact except for the timestamp delta, counted at its largest
    /// (the delta depends on the batch's first record).
    static func encoded(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) -> Int {
        encoded(keyLength: key?.readableBytes ?? -1, valueLength: value?.readableBytes ?? -1, headers: headers)
    }

    /// The same from the key's and value's lengths (-1 for null).
    static func encoded(keyLength: Int, valueLength: Int, headers: [RecordHeader]) -> Int {
        // length varint (5) + attributes (1) + timestamp delta (10) + offset delta (5)
        var size = 5 + 1 + 10 + 5
            + ByteBuffer.varlongSize(Int64(keyLength)) + max(keyLength, 0)
            + ByteBuffer.varlongSize(Int64(valueLength)) + max(valueLength, 0)
            + ByteBuffer.varlongSize(Int64(headers.count))
        for header in headers {
            let headerKeyLength = header.key.utf8.count
            let headerValueLength = header.value?.readableBytes ?? -1
            size += ByteBuffer.varlongSize(Int64(headerKeyLength)) + headerKeyLength
                + ByteBuffer.varlongSize(Int64(headerValueLength)) + max(headerValueLength, 0)
        }
        return size
    }
}

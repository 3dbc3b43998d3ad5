import KafkaProtocol
import NIOCore

/// Reads the batches of a closed segment file front to back, in large chunks, handing out each
/// batch as a slice of the chunk.
struct SegmentBatchReader {
    private let file: POSIXFile
    private let size: Int
    private let allocator: ByteBufferAllocator
    private let chunkSize: Int
    private var chunk = ByteBuffer()
    /// File position of the chunk's first byte.
    private var chunkStart = 0
    /// File position of the next batch.
    private(set) var position = 0

    init(file: POSIXFile, size: Int, allocator: ByteBufferAllocator = ByteBufferAllocator(), chunkSize: Int = 1 << 20) {
        self.file = file
        self.size = size
        self.allocator = allocator
        self.chunkSize = chunkSize
    }

    /// The next batch's header and bytes, or nil at the end of the segment (or at a batch that
    /// is not whole, which only a torn active segment can have).
    mutating func next() throws -> (header: RecordBatchHeader, bytes: ByteBuffer)? {
        guard size - position >= RecordBatchHeader.size else { return nil }
        try ensureBuffered(RecordBatchHeader.size)
        guard let header = try? RecordBatchHeader(from: chunk, at: chunk.readerIndex + position - chunkStart) else { return nil }
        let length = header.totalSize
        guard position + length <= size else { return nil }
        try ensureBuffered(length)
        let bytes = chunk.getSlice(at: chunk.readerIndex + position - chunkStart, length: length)!
        position += length
        return (header, bytes)
    }

    /// Makes sure `count` bytes from `position` are in the chunk, reading a new chunk when not.
    private mutating func ensureBuffered(_ count: Int) throws {
        let bufferedEnd = chunkStart + chunk.readableBytes
        guard position < chunkStart || position + count > bufferedEnd else { return }
        let length = min(max(chunkSize, count), size - position)
        chunk = try file.read(at: position, length: length, allocator: allocator)
        chunkStart = position
    }
}

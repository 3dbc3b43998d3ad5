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

    /// The next batch's header and bytes, or nil at the end of the segment.
    /// - Throws: `StorageError` when what follows is not a whole batch: a closed segment has no
    ///   torn tail, so this is corruption, and a cleaner must not treat it as the segment's end.
    mutating func next() throws -> (header: RecordBatchHeader, bytes: ByteBuffer)? {
        guard position < size else { return nil }
        guard size - position >= RecordBatchHeader.size else { throw corrupt("a partial batch header") }
        try ensureBuffered(RecordBatchHeader.size)
        guard let header = try? RecordBatchHeader(from: chunk, at: chunk.readerIndex + position - chunkStart) else {
            throw corrupt("an invalid batch header")
        }
        let length = header.totalSize
        guard position + length <= size else { throw corrupt("a batch running past the segment's end") }
        try ensureBuffered(length)
        let bytes = chunk.getSlice(at: chunk.readerIndex + position - chunkStart, length: length)!
        position += length
        return (header, bytes)
    }

    private func corrupt(_ what: String) -> StorageError {
        StorageError(path: file.path, operation: "read batch at \(position): found \(what) in", errno: 0)
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

import NIOCore

/// The newest offset of every key seen in the dirty part of a log, keys compared as bytes.
///
/// Keys are copied on first sight: a decoded key is a slice of its batch's decompressed
/// buffer, and keeping slices would keep every such buffer alive for the whole pass.
struct KeyOffsetMap {
    private var offsets: [ByteBuffer: Int64] = [:]
    private let allocator = ByteBufferAllocator()

    var count: Int { offsets.count }

    /// Records that `key` was written at `offset`; offsets arrive in increasing order.
    mutating func record(key: ByteBuffer, offset: Int64) {
        if let index = offsets.index(forKey: key) {
            offsets.values[index] = offset
        } else {
            var copy = allocator.buffer(capacity: key.readableBytes)
            copy.writeImmutableBuffer(key)
            offsets[copy] = offset
        }
    }

    /// The newest offset holding `key`, or nil when the mapped range never wrote it.
    func latestOffset(of key: ByteBuffer) -> Int64? {
        offsets[key]
    }
}

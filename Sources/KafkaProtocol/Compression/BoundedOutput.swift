import NIOCore

/// A growing output buffer for streaming decompressors that never holds more than
/// `limit` bytes: the decompressor is offered at most `limit + 1` bytes of room in
/// total, so producing that extra byte proves the output is too large.
struct BoundedOutput {
    private(set) var buffer: ByteBuffer
    let limit: Int
    let codec: String

    /// - Parameter expected: a size hint (for example, the input size times a typical ratio).
    init(limit: Int, expected: Int, codec: String) {
        // A ByteBuffer cannot exceed 4 GiB; clamping also keeps `limit + 1` from overflowing
        // and a negative limit from offering negative room.
        self.limit = Swift.min(Swift.max(limit, 0), Int(UInt32.max) - 1)
        self.codec = codec
        self.buffer = ByteBufferAllocator().buffer(capacity: Swift.max(64, Swift.min(expected, self.limit + 1)))
    }

    /// Offers writable room to `body`, which returns how many bytes it wrote.
    /// - Returns: the room that was offered, so callers can tell "output full" from "input exhausted".
    @discardableResult
    mutating func write(_ body: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        let allowed = self.limit - self.buffer.readableBytes + 1
        // Grow geometrically (as ByteBuffer does) but never past what the limit allows.
        let wanted = Swift.max(self.buffer.writableBytes, Swift.max(16_384, self.buffer.readableBytes))
        let room = Swift.min(allowed, wanted)
        try self.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { raw in
            try body(UnsafeMutableRawBufferPointer(rebasing: raw[0..<room]))
        }
        guard self.buffer.readableBytes <= self.limit else {
            throw KafkaProtocolError.tooLarge(context: "\(self.codec) decompressed data", size: self.buffer.readableBytes, limit: self.limit)
        }
        return room
    }

    /// Room used so far.
    var count: Int { self.buffer.readableBytes }
}

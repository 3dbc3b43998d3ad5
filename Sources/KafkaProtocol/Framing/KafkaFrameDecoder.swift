import NIOCore

/// Splits a byte stream into Kafka frames: a big-endian int32 size, then that many bytes.
///
/// Used by both the client and the dev broker. A size that is negative or above
/// `maxFrameSize` closes the stream with `KafkaProtocolError.tooLarge` before any
/// memory is reserved for it, so a peer cannot make us allocate by lying about a length.
public struct KafkaFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public let maxFrameSize: Int

    public init(maxFrameSize: Int = 100 * 1024 * 1024) {
        self.maxFrameSize = maxFrameSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return .needMoreData
        }
        guard size >= 0 else {
            throw KafkaProtocolError.invalidLength(context: "frame size", length: Int(size))
        }
        guard Int(size) <= maxFrameSize else {
            throw KafkaProtocolError.tooLarge(context: "frame", size: Int(size), limit: maxFrameSize)
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: Int(size))!))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame at EOF is dropped with the connection: the peer never finished sending it.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

extension ByteBuffer {
    /// Reserves the 4-byte frame size prefix; pass the returned index to `finishKafkaFrame(sizeAt:)`.
    @inlinable
    public mutating func startKafkaFrame() -> Int {
        let index = self.writerIndex
        self.writeInteger(Int32(0))
        return index
    }

    /// Writes the size of everything after the prefix reserved by `startKafkaFrame()`.
    @inlinable
    public mutating func finishKafkaFrame(sizeAt index: Int) {
        self.setInteger(Int32(self.writerIndex - index - 4), at: index, endianness: .big)
    }
}

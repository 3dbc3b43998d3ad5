import NIOCore

/// A tagged field this implementation does not know, kept as raw bytes so that
/// a decode followed by an encode loses nothing.
public struct KafkaTaggedField: Sendable, Hashable {
    public var tag: UInt32
    public var data: ByteBuffer

    public init(tag: UInt32, data: ByteBuffer) {
        self.tag = tag
        self.data = data
    }
}

extension ByteBuffer {
    /// Writes one tagged field: tag, size, then the bytes.
    @inlinable
    public mutating func writeKafkaTaggedField(tag: UInt32, data: ByteBuffer) {
        self.writeUnsignedVarint(tag)
        self.writeUnsignedVarint(UInt32(data.readableBytes))
        self.writeImmutableBuffer(data)
    }

    /// Reads the header of one tagged field and returns its tag and a slice over its bytes.
    @inlinable
    public mutating func readKafkaTaggedField(context: @autoclosure () -> String) throws -> (tag: UInt32, data: ByteBuffer) {
        let tag = try self.readUnsignedVarint(context: context())
        let size = Int(try self.readUnsignedVarint(context: context()))
        guard size <= self.readableBytes else {
            throw KafkaProtocolError.truncated(context: context(), needed: size, available: self.readableBytes)
        }
        return (tag, self.readSlice(length: size)!)
    }
}

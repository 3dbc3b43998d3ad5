import CSnappy
import NIOCore

/// Snappy. Kafka's Java client writes it in the xerial "stream" framing (a 16-byte
/// header, then length-prefixed raw snappy blocks); librdkafka and others write a
/// single raw snappy block. Both are read; raw is written, which every client reads.
enum SnappyCodec {
    /// The xerial header: 0x82 "SNAPPY" 0x00, then a big-endian int32 version and compat version.
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let xerialHeaderSize = 16

    static func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer) throws {
        let bound = snappy_max_compressed_length(input.count)
        var status = SNAPPY_OK
        // Empty input has no base address, but snappy wants a valid pointer.
        let empty: CChar = 0
        withUnsafePointer(to: empty) { emptySource in
            let source = input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? emptySource
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
                var length = bound
                status = snappy_compress(source, input.count, raw.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
                return status == SNAPPY_OK ? length : 0
            }
        }
        guard status == SNAPPY_OK else { throw KafkaProtocolError.compressionFailed(codec: "snappy", reason: "status \(status.rawValue)") }
    }

    /// Whether `input` starts with the xerial framing header.
    static func isXerialFramed(_ input: UnsafeRawBufferPointer) -> Bool {
        // The version and compat fields are not checked: some producers write them little-endian.
        input.count >= xerialHeaderSize && input.prefix(xerialMagic.count).elementsEqual(xerialMagic)
    }

    static func decompress(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> ByteBuffer {
        if isXerialFramed(input) {
            return try decompressXerial(input, maxOutputBytes: maxOutputBytes)
        }
        var output = ByteBuffer()
        try decompressBlock(input, appendingTo: &output, maxOutputBytes: maxOutputBytes)
        return output
    }

    private static func decompressXerial(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> ByteBuffer {
        var output = ByteBuffer()
        var position = xerialHeaderSize
        while position < input.count {
            // Concatenated xerial streams repeat the header; a block length never starts with
            // 0x82 (it would be negative), so the magic is unambiguous here.
            let rest = UnsafeRawBufferPointer(rebasing: input[position...])
            if isXerialFramed(rest) {
                position += xerialHeaderSize
                continue
            }
            guard input.count - position >= 4 else {
                throw KafkaProtocolError.decompressionFailed(codec: "snappy", reason: "truncated xerial block length")
            }
            let length = Int(Int32(bitPattern: UInt32(input[position]) << 24 | UInt32(input[position + 1]) << 16
                                   | UInt32(input[position + 2]) << 8 | UInt32(input[position + 3])))
            position += 4
            guard length >= 0, length <= input.count - position else {
                throw KafkaProtocolError.decompressionFailed(codec: "snappy", reason: "xerial block length \(length) past the end")
            }
            let block = UnsafeRawBufferPointer(rebasing: input[position..<(position + length)])
            try decompressBlock(block, appendingTo: &output, maxOutputBytes: maxOutputBytes)
            position += length
        }
        return output
    }

    /// Decompresses one raw snappy block, checking its declared length before allocating for it.
    private static func decompressBlock(_ block: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer, maxOutputBytes: Int) throws {
        let source = block.baseAddress?.assumingMemoryBound(to: CChar.self)
        guard let source else {
            throw KafkaProtocolError.decompressionFailed(codec: "snappy", reason: "empty input")
        }
        var declared = 0
        guard snappy_uncompressed_length(source, block.count, &declared) == SNAPPY_OK else {
            throw KafkaProtocolError.decompressionFailed(codec: "snappy", reason: "invalid length header")
        }
        let total = output.readableBytes + declared
        guard declared <= maxOutputBytes, total <= maxOutputBytes else {
            throw KafkaProtocolError.tooLarge(context: "snappy decompressed data", size: total, limit: maxOutputBytes)
        }
        var status = SNAPPY_OK
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: Swift.max(declared, 1)) { raw in
            var length = declared
            status = snappy_uncompress(source, block.count, raw.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            return status == SNAPPY_OK ? length : 0
        }
        guard status == SNAPPY_OK else {
            throw KafkaProtocolError.decompressionFailed(codec: "snappy", reason: "corrupt block")
        }
    }
}

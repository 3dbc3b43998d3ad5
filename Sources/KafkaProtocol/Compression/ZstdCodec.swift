import CZstd
import NIOCore

/// Zstandard (Kafka ≥ 2.1). Frames written by streaming compressors (such as the Java
/// client's) do not declare their content size, so decompression streams into a
/// bounded, growing buffer instead of trusting a header.
enum ZstdCodec {
    /// zstd's own default level, which Kafka also uses.
    static let defaultLevel: Int32 = 3

    static func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer, level: Int32 = defaultLevel) throws {
        let bound = ZSTD_compressBound(input.count)
        guard ZSTD_isError(bound) == 0 else {
            throw KafkaProtocolError.tooLarge(context: "zstd input", size: input.count, limit: Int(Int32.max))
        }
        var result = 0
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            result = ZSTD_compress(raw.baseAddress, bound, input.baseAddress, input.count, level)
            return ZSTD_isError(result) != 0 ? 0 : result
        }
        guard ZSTD_isError(result) == 0 else {
            throw KafkaProtocolError.compressionFailed(codec: "zstd", reason: String(cString: ZSTD_getErrorName(result)))
        }
    }

    static func decompress(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> ByteBuffer {
        guard let context = ZSTD_createDCtx() else {
            throw KafkaProtocolError.decompressionFailed(codec: "zstd", reason: "cannot create a decompression context")
        }
        defer { ZSTD_freeDCtx(context) }
        guard input.count > 0 else { throw KafkaProtocolError.decompressionFailed(codec: "zstd", reason: "empty input") }

        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        // The declared size can be forged, so it only sizes the first allocation up to a plausible ratio.
        let plausible = input.count * 32
        let expected = declared < UInt64(plausible) ? Int(declared) : input.count * 4
        var output = BoundedOutput(limit: maxOutputBytes, expected: expected, codec: "zstd")
        var stalls = 0
        while true {
            var result = 0
            var produced = 0
            let previousPosition = source.pos
            let room = try output.write { raw in
                var destination = ZSTD_outBuffer(dst: raw.baseAddress, size: raw.count, pos: 0)
                result = ZSTD_decompressStream(context, &destination, &source)
                produced = ZSTD_isError(result) != 0 ? 0 : destination.pos
                return produced
            }
            if ZSTD_isError(result) != 0 {
                throw KafkaProtocolError.decompressionFailed(codec: "zstd", reason: String(cString: ZSTD_getErrorName(result)))
            }
            stalls = produced == 0 && source.pos == previousPosition ? stalls + 1 : 0
            guard stalls < 3 else { throw KafkaProtocolError.decompressionFailed(codec: "zstd", reason: "no progress") }
            if result == 0 {
                // A frame is complete and flushed; another may follow.
                if source.pos == source.size { return output.buffer }
            } else if source.pos == source.size && produced < room {
                throw KafkaProtocolError.decompressionFailed(codec: "zstd", reason: "truncated frame")
            }
        }
    }
}

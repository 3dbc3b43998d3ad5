import CLZ4
import NIOCore

/// LZ4 in the standard frame format (lz4frame.h), which Kafka has used for magic 1
/// and 2 since 0.10. Magic-0 message sets are the exception: their frames carry a
/// header checksum computed over the wrong bytes, so that byte is recomputed before
/// handing them to liblz4 (Kafka itself ignores it for magic 0).
enum LZ4Codec {
    private static let frameMagic: [UInt8] = [0x04, 0x22, 0x4D, 0x18]

    static func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer) throws {
        // 64 KiB independent blocks and no content size, like Kafka's Java producer, so
        // that every Kafka LZ4 reader (including the older Java one) accepts the frame.
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        var result = 0
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            result = LZ4F_compressFrame(raw.baseAddress, bound, input.baseAddress, input.count, &preferences)
            return LZ4F_isError(result) != 0 ? 0 : result
        }
        guard LZ4F_isError(result) == 0 else {
            throw KafkaProtocolError.compressionFailed(codec: "lz4", reason: String(cString: LZ4F_getErrorName(result)))
        }
    }

    static func decompress(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int, legacyHeaderChecksum: Bool) throws -> ByteBuffer {
        if legacyHeaderChecksum, let repaired = repairingHeaderChecksum(input) {
            return try repaired.withUnsafeBytes { try decompressFrames($0, maxOutputBytes: maxOutputBytes) }
        }
        return try decompressFrames(input, maxOutputBytes: maxOutputBytes)
    }

    /// A copy of `input` whose first frame's header checksum byte is the correct one,
    /// or nil when the input is too short to be a frame (liblz4 then reports the error).
    private static func repairingHeaderChecksum(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        // magic (4) FLG (1) BD (1) [content size (8)] HC (1)
        guard input.count >= 7, input.prefix(4).elementsEqual(frameMagic) else { return nil }
        let hasContentSize = input[4] & 0x08 != 0
        let checksumIndex = hasContentSize ? 14 : 6
        guard input.count > checksumIndex else { return nil }
        var copy = Array(input)
        let descriptor = UnsafeRawBufferPointer(rebasing: input[4..<checksumIndex])
        copy[checksumIndex] = UInt8(truncatingIfNeeded: XXHash32.hash(descriptor) >> 8)
        return copy
    }

    private static func decompressFrames(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> ByteBuffer {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else {
            throw KafkaProtocolError.decompressionFailed(codec: "lz4", reason: "cannot create a decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        guard input.count > 0 else { throw KafkaProtocolError.decompressionFailed(codec: "lz4", reason: "empty input") }

        var output = BoundedOutput(limit: maxOutputBytes, expected: input.count * 4, codec: "lz4")
        var consumed = 0
        var stalls = 0
        while true {
            var hint = 0
            var produced = 0
            var read = 0
            let room = try output.write { raw in
                var destinationSize = raw.count
                var sourceSize = input.count - consumed
                hint = LZ4F_decompress(context, raw.baseAddress, &destinationSize, input.baseAddress! + consumed, &sourceSize, nil)
                produced = LZ4F_isError(hint) != 0 ? 0 : destinationSize
                read = LZ4F_isError(hint) != 0 ? 0 : sourceSize
                return produced
            }
            if LZ4F_isError(hint) != 0 {
                throw KafkaProtocolError.decompressionFailed(codec: "lz4", reason: String(cString: LZ4F_getErrorName(hint)))
            }
            consumed += read
            // liblz4 always moves when given room and input; refuse to spin if it ever does not.
            stalls = read == 0 && produced == 0 ? stalls + 1 : 0
            guard stalls < 3 else { throw KafkaProtocolError.decompressionFailed(codec: "lz4", reason: "no progress") }
            if hint == 0 {
                // A frame ended; another may follow (the context resets itself).
                if consumed == input.count { return output.buffer }
            } else if consumed == input.count && produced < room {
                throw KafkaProtocolError.decompressionFailed(codec: "lz4", reason: "truncated frame")
            }
        }
    }
}

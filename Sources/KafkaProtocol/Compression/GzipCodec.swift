import CZlib
import NIOCore

/// gzip (RFC 1952) through zlib, which is what Kafka's codec id 1 means: a gzip
/// stream, not a bare zlib or deflate one.
enum GzipCodec {
    /// zlib's window bits for a gzip wrapper: 15-bit window, +16 selects gzip framing.
    private static let gzipWindowBits: Int32 = 15 + 16
    /// Kafka's default gzip level (Java's `Deflater.DEFAULT_COMPRESSION` is level 6).
    static let defaultLevel: Int32 = 6

    static func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout ByteBuffer, level: Int32 = defaultLevel) throws {
        guard input.count <= Int(UInt32.max) else {
            throw KafkaProtocolError.tooLarge(context: "gzip input", size: input.count, limit: Int(UInt32.max))
        }
        var stream = z_stream()
        var status = deflateInit2_(&stream, level, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw KafkaProtocolError.compressionFailed(codec: "gzip", reason: "deflateInit2 returned \(status)") }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            stream.next_out = raw.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(bound)
            status = deflate(&stream, Z_FINISH)
            return bound - Int(stream.avail_out)
        }
        // deflateBound guarantees one Z_FINISH call suffices.
        guard status == Z_STREAM_END else { throw KafkaProtocolError.compressionFailed(codec: "gzip", reason: "deflate returned \(status)") }
    }

    static func decompress(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> ByteBuffer {
        guard input.count <= Int(UInt32.max) else {
            throw KafkaProtocolError.tooLarge(context: "gzip input", size: input.count, limit: Int(UInt32.max))
        }
        var stream = z_stream()
        var status = inflateInit2_(&stream, gzipWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw KafkaProtocolError.decompressionFailed(codec: "gzip", reason: "inflateInit2 returned \(status)") }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)

        var output = BoundedOutput(limit: maxOutputBytes, expected: input.count * 4, codec: "gzip")
        while true {
            var produced = 0
            let room = try output.write { raw in
                stream.next_out = raw.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(raw.count)
                status = inflate(&stream, Z_NO_FLUSH)
                produced = raw.count - Int(stream.avail_out)
                return produced
            }
            switch status {
            case Z_STREAM_END:
                // Several gzip members back to back are one valid gzip file (Java and Python read them all).
                guard stream.avail_in > 0 else { return output.buffer }
                guard inflateReset(&stream) == Z_OK else {
                    throw KafkaProtocolError.decompressionFailed(codec: "gzip", reason: "inflateReset failed")
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR where produced == room:
                continue // only out of room
            case Z_BUF_ERROR:
                throw KafkaProtocolError.decompressionFailed(codec: "gzip", reason: "truncated stream")
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "inflate returned \(status)"
                throw KafkaProtocolError.decompressionFailed(codec: "gzip", reason: message)
            }
        }
    }
}

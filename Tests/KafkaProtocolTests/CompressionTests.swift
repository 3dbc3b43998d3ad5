import NIOCore
import Testing
@testable import KafkaProtocol

@Suite struct CompressionTests {
    static let payload = ByteBuffer(bytes: (0..<50_000).map { UInt8(truncatingIfNeeded: $0 % 251 ^ ($0 >> 7)) })

    @Test(arguments: CompressionCodec.allCases)
    func roundTrip(codec: CompressionCodec) throws {
        for input in [ByteBuffer(), ByteBuffer(string: "a"), Self.payload] {
            var compressed = ByteBuffer()
            try codec.compress(input, appendingTo: &compressed)
            #expect(try codec.decompress(compressed) == input)
        }
    }

    @Test func xerialSnappyFromKafkaPython() throws {
        let output = try CompressionCodec.snappy.decompress(ByteBuffer(hex: TestVectors.xerialSnappy))
        #expect(output == ByteBuffer(string: String(repeating: "xerial framed snappy payload ", count: 10)))
    }

    /// Two xerial streams back to back (as concatenating two Java-compressed streams gives) read as one.
    @Test func concatenatedXerialStreams() throws {
        var twice = ByteBuffer(hex: TestVectors.xerialSnappy)
        twice.writeImmutableBuffer(ByteBuffer(hex: TestVectors.xerialSnappy))
        let output = try CompressionCodec.snappy.decompress(twice)
        #expect(output == ByteBuffer(string: String(repeating: "xerial framed snappy payload ", count: 20)))
    }

    @Test func lz4FrameWithChecksumsAndContentSize() throws {
        let output = try CompressionCodec.lz4.decompress(ByteBuffer(hex: TestVectors.lz4Frame))
        #expect(output == ByteBuffer(string: String(repeating: "lz4 frame payload ", count: 8)))
    }

    @Test func zstdStreamWithoutContentSize() throws {
        let output = try CompressionCodec.zstd.decompress(ByteBuffer(hex: TestVectors.zstdStream))
        #expect(output == ByteBuffer(string: String(repeating: "zstd stream payload ", count: 8)))
    }

    @Test func gzipWithTwoMembers() throws {
        #expect(try CompressionCodec.gzip.decompress(ByteBuffer(hex: TestVectors.gzipTwoMembers)) == ByteBuffer(string: "first second"))
    }

    /// Every codec refuses output beyond the limit with `tooLarge`, before holding more than that.
    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func outputLimit(codec: CompressionCodec) throws {
        let zeros = ByteBuffer(repeating: 0, count: 1 << 20)
        var compressed = ByteBuffer()
        try codec.compress(zeros, appendingTo: &compressed)
        #expect(compressed.readableBytes < 64 << 10)
        do {
            _ = try codec.decompress(compressed, maxOutputBytes: 1 << 16)
            Issue.record("\(codec) exceeded its limit")
        } catch let error as KafkaProtocolError {
            guard case let .tooLarge(_, size, limit) = error else { Issue.record("unexpected \(error)"); return }
            #expect(limit == 1 << 16)
            #expect(size > limit)
        }
        #expect(try codec.decompress(compressed, maxOutputBytes: 1 << 20).readableBytes == 1 << 20)
    }

    /// Extreme limits neither trap nor misbehave: no limit to speak of, and no room at all.
    @Test(arguments: CompressionCodec.allCases)
    func extremeLimits(codec: CompressionCodec) throws {
        var compressed = ByteBuffer()
        try codec.compress(ByteBuffer(string: "some bytes"), appendingTo: &compressed)
        #expect(try codec.decompress(compressed, maxOutputBytes: Int.max) == ByteBuffer(string: "some bytes"))
        for limit in [-1, 0, Int.min] {
            #expect(throws: KafkaProtocolError.self) { _ = try codec.decompress(compressed, maxOutputBytes: limit) }
        }
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func corruptDataIsDecompressionFailed(codec: CompressionCodec) throws {
        var compressed = ByteBuffer()
        try codec.compress(Self.payload, appendingTo: &compressed)
        // Truncated.
        let truncated = compressed.getSlice(at: 0, length: compressed.readableBytes / 2)!
        #expect(throws: KafkaProtocolError.self) { _ = try codec.decompress(truncated) }
        // Garbage.
        let garbage = ByteBuffer(bytes: [0x13, 0x37, 0xFF, 0x00, 0x42, 0x99, 0x12, 0x34])
        do {
            _ = try codec.decompress(garbage)
            Issue.record("garbage decompressed")
        } catch let error as KafkaProtocolError {
            guard case .decompressionFailed = error else { Issue.record("unexpected \(error)"); return }
        }
    }

    /// A snappy block declaring a huge length is refused before anything is allocated for it.
    @Test func snappyDeclaredLengthIsCheckedFirst() {
        // varint 0xFFFFFFFF0F = 4 GiB - 1, then nothing.
        let bomb = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00])
        #expect(throws: KafkaProtocolError.self) { _ = try CompressionCodec.snappy.decompress(bomb) }
    }

    @Test func xxhash32MatchesPythonXXHash() {
        // Python xxhash 3.6.0: xxh32(b""), xxh32(b"abc"), xxh32(b"Nobody inspects the spammish repetition").
        let vectors: [(String, UInt32)] = [("", 0x02CC_5D05), ("abc", 0x32D1_53FF), ("Nobody inspects the spammish repetition", 0xE229_3B2F)]
        for (text, expected) in vectors {
            #expect(Array(text.utf8).withUnsafeBytes { XXHash32.hash($0) } == expected)
        }
    }

    @Test func unknownCodecId() {
        #expect(throws: KafkaProtocolError.unknownCompressionCodec(5)) { _ = try CompressionCodec(id: 5) }
    }
}

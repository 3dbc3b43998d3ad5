import NIOCore
import Testing
@testable import KafkaProtocol

@Suite struct RecordSetReaderTests {
    static func batch(baseOffset: Int64, count: Int, codec: CompressionCodec = .none) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(baseOffset: baseOffset, compression: codec)
        for i in 0..<count {
            try builder.append(timestamp: 1000 + Int64(i), key: nil, value: ByteBuffer(string: "value \(baseOffset + Int64(i))"))
        }
        return try builder.build()
    }

    /// Batches of every format back to back, as a fetch response from a partition with old data can hold.
    @Test func mixedFormatsBackToBack() throws {
        var buffer = ByteBuffer(hex: TestVectors.legacySets["0_0"]!)
        var legacyWrapper = ByteBuffer(hex: TestVectors.legacySets["1_2"]!)
        legacyWrapper.setInteger(Int64(3), at: 0, endianness: .big) // inner offsets 2, 3
        buffer.writeImmutableBuffer(legacyWrapper)
        buffer.writeImmutableBuffer(try Self.batch(baseOffset: 4, count: 3, codec: .zstd))
        buffer.writeImmutableBuffer(try Self.batch(baseOffset: 7, count: 2))
        var reader = RecordSetReader(buffer)
        var magics: [Int8] = []
        var offsets: [Int64] = []
        while let entry = try reader.next() {
            magics.append(entry.magic)
            try entry.forEachRecord { offsets.append($0.offset) }
        }
        #expect(magics == [0, 0, 1, 2, 2])
        #expect(offsets == Array(0...8))
        #expect(!reader.hasIncompleteTail)
    }

    /// A fetch response cut by the broker's byte limit ends in part of a batch.
    @Test func incompleteTailAfterCompleteBatches() throws {
        var buffer = try Self.batch(baseOffset: 0, count: 3, codec: .lz4)
        let second = try Self.batch(baseOffset: 3, count: 3)
        buffer.writeImmutableBuffer(second.getSlice(at: 0, length: 40)!)
        let (records, tail) = try RecordSetReader.decodeAll(buffer)
        #expect(records.map(\.offset) == [0, 1, 2])
        #expect(tail == 40)
        // A broker validating a produce request does not accept it.
        var strict = RecordSetReader(buffer, options: RecordDecodingOptions(allowsIncompleteTail: false))
        _ = try strict.next()
        #expect(throws: KafkaProtocolError.truncated(context: "record batch", needed: second.readableBytes, available: 40)) {
            _ = try strict.next()
        }
    }

    @Test func emptyRecordSet() throws {
        let (records, tail) = try RecordSetReader.decodeAll(ByteBuffer())
        #expect(records.isEmpty && tail == 0)
    }

    @Test func lengthsThatCannotBeBatches() throws {
        var buffer = try Self.batch(baseOffset: 0, count: 1)
        for length: Int32 in [-1, 0, 13, Int32.min] {
            buffer.setInteger(length, at: 8, endianness: .big)
            #expect(throws: KafkaProtocolError.invalidLength(context: "record batch length", length: Int(length))) {
                _ = try RecordSetReader.decodeAll(buffer)
            }
        }
        // Long enough for a legacy message but not for a magic-2 header.
        buffer.setInteger(Int32(30), at: 8, endianness: .big)
        #expect(throws: KafkaProtocolError.invalidLength(context: "record batch length", length: 30)) {
            _ = try RecordSetReader.decodeAll(buffer)
        }
    }

    /// Decompression is bounded per batch by the options.
    @Test func decompressedSizeLimit() throws {
        var builder = RecordBatchBuilder(compression: .gzip)
        try builder.append(timestamp: 0, key: nil, value: ByteBuffer(repeating: 0, count: 100_000))
        let buffer = try builder.build()
        let options = RecordDecodingOptions(maxDecompressedBytes: 10_000)
        #expect(throws: KafkaProtocolError.self) { _ = try RecordSetReader.decodeAll(buffer, options: options) }
        #expect(try RecordSetReader.decodeAll(buffer).records.count == 1)
    }
}

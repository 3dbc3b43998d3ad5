import NIOCore
import Testing
@testable import KafkaProtocol

@Suite struct RecordBatchTests {
    /// What kafka-python was given for `TestVectors.transactionalBatch`.
    static let transactionalRecords = [
        Record(offset: 0, offsetDelta: 0, timestamp: 1_700_000_000_000, key: ByteBuffer(string: "k0"), value: ByteBuffer(string: "hello"),
               headers: [RecordHeader(key: "h1", value: ByteBuffer(string: "v1"))]),
        Record(offset: 1, offsetDelta: 1, timestamp: 1_700_000_000_005, key: nil, value: ByteBuffer(string: "world")),
        Record(offset: 2, offsetDelta: 2, timestamp: 1_699_999_999_990, key: ByteBuffer(string: "k2"), value: nil,
               headers: [RecordHeader(key: "n", value: nil)]),
    ]

    @Test func decodesKafkaPythonBatch() throws {
        let buffer = ByteBuffer(hex: TestVectors.transactionalBatch)
        let header = try RecordBatchHeader(from: buffer, at: 0)
        #expect(header.crc == 0x4E65_F6C3)
        #expect(header.baseOffset == 0)
        #expect(header.totalSize == buffer.readableBytes)
        #expect(header.isTransactional && !header.isControl)
        #expect(header.producerId == 123 && header.producerEpoch == 4 && header.baseSequence == 7)
        #expect(header.lastOffsetDelta == 2 && header.recordCount == 3)
        #expect(header.baseTimestamp == 1_700_000_000_000 && header.maxTimestamp == 1_700_000_000_005)
        #expect(header.lastSequence == 9)
        try RecordBatchHeader.verifyCRC(in: buffer, at: 0)
        let batch = try RecordBatch(decoding: buffer, at: 0)
        #expect(try batch.records() == Self.transactionalRecords)
    }

    /// The builder, given what kafka-python was given, writes the same bytes.
    @Test func builderMatchesKafkaPythonByteForByte() throws {
        var builder = RecordBatchBuilder(producerId: 123, producerEpoch: 4, baseSequence: 7, isTransactional: true, partitionLeaderEpoch: 0)
        for record in Self.transactionalRecords {
            try builder.append(timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers)
        }
        #expect(try builder.build().bytes == ByteBuffer(hex: TestVectors.transactionalBatch).bytes)
    }

    @Test(arguments: [1, 2, 3, 4])
    func decodesKafkaPythonCompressedBatches(codecID: Int) throws {
        let buffer = ByteBuffer(hex: TestVectors.codecBatches[codecID]!)
        let batch = try RecordBatch(decoding: buffer, at: 0)
        #expect(batch.header.attributes.compressionID == codecID)
        #expect(batch.header.producerId == -1)
        let expected = (0..<3).map { i in
            Record(offset: Int64(i), offsetDelta: Int32(i), timestamp: 1_700_000_000_000 + Int64(i), key: ByteBuffer(string: "key\(i)"),
                   value: ByteBuffer(string: String(repeating: "value-\(i)-", count: 5)))
        }
        #expect(try batch.records() == expected)
    }

    static func sampleRecords(count: Int) -> [Record] {
        (0..<count).map { i in
            Record(offset: 1000 + Int64(i), offsetDelta: Int32(i), timestamp: 1_650_000_000_000 + Int64(i % 7) * 1000 - 3000,
                   key: i % 4 == 0 ? nil : ByteBuffer(string: "key-\(i)"),
                   value: i % 9 == 0 ? nil : ByteBuffer(string: String(repeating: "v\(i)", count: i % 50)),
                   headers: i % 3 == 0 ? [] : [RecordHeader(key: "h\(i)", value: i % 2 == 0 ? nil : ByteBuffer(string: "x")),
                                              RecordHeader(key: "ключ", value: ByteBuffer())])
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func roundTripEveryCodec(codec: CompressionCodec) throws {
        let records = Self.sampleRecords(count: 200)
        var builder = RecordBatchBuilder(baseOffset: 1000, compression: codec, producerId: 9, producerEpoch: 2, baseSequence: 100)
        for record in records {
            try builder.append(timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers)
        }
        let buffer = try builder.build()
        let batch = try RecordBatch(decoding: buffer, at: 0)
        #expect(batch.header.attributes.compression == codec)
        #expect(batch.header.lastOffsetDelta == 199)
        #expect(batch.header.maxTimestamp == records.map(\.timestamp).max())
        #expect(batch.header.baseTimestamp == records[0].timestamp)
        #expect(try batch.records() == records)
        // The iterator and forEachRecord see the same records.
        var iterator = batch.makeRecordIterator()
        var viaIterator: [Record] = []
        while let record = try iterator.next() { viaIterator.append(record) }
        #expect(viaIterator == records)
    }

    @Test func logAppendTimeGivesEveryRecordTheMaxTimestamp() throws {
        var builder = RecordBatchBuilder(timestampType: .logAppendTime, logAppendTime: 1_777_000_000_000)
        try builder.append(timestamp: 5, key: nil, value: ByteBuffer(string: "a"))
        try builder.append(timestamp: 9, key: nil, value: ByteBuffer(string: "b"))
        let batch = try RecordBatch(decoding: try builder.build(), at: 0)
        #expect(batch.header.timestampType == .logAppendTime)
        #expect(try batch.records().map(\.timestamp) == [1_777_000_000_000, 1_777_000_000_000])
    }

    /// A broker stamps LogAppendTime on a CreateTime batch in place; the CRC is recomputed.
    @Test func setLogAppendTimeInPlace() throws {
        var buffer = ByteBuffer(hex: TestVectors.transactionalBatch)
        try RecordBatchHeader.setLogAppendTime(1_800_000_000_000, in: &buffer, at: 0)
        try RecordBatchHeader.verifyCRC(in: buffer, at: 0)
        let records = try RecordBatch(decoding: buffer, at: 0).records()
        #expect(records.allSatisfy { $0.timestamp == 1_800_000_000_000 })
    }

    /// The CRC starts at the attributes, so patching the base offset and leader epoch keeps it valid.
    @Test func patchingBaseOffsetKeepsTheCRC() throws {
        var buffer = ByteBuffer(hex: TestVectors.transactionalBatch)
        try RecordBatchHeader.setBaseOffset(5000, in: &buffer, at: 0)
        try RecordBatchHeader.setPartitionLeaderEpoch(12, in: &buffer, at: 0)
        let batch = try RecordBatch(decoding: buffer, at: 0)
        #expect(batch.header.partitionLeaderEpoch == 12)
        #expect(try batch.records().map(\.offset) == [5000, 5001, 5002])
    }

    @Test func everyCorruptedByteAfterTheCRCFieldIsDetected() throws {
        let original = ByteBuffer(hex: TestVectors.transactionalBatch)
        for index in RecordBatchHeader.Layout.attributes..<original.readableBytes {
            var buffer = original
            buffer.setInteger(buffer.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
            #expect(throws: KafkaProtocolError.crcMismatch(expected: 0x4E65_F6C3, actual: try RecordBatchHeader.computeCRC(in: buffer, at: 0))) {
                _ = try RecordBatch(decoding: buffer, at: 0)
            }
        }
        // The stored CRC itself.
        var buffer = original
        buffer.setInteger(UInt32(0xDEAD_BEEF), at: RecordBatchHeader.Layout.crc, endianness: .big)
        #expect(throws: KafkaProtocolError.crcMismatch(expected: 0xDEAD_BEEF, actual: 0x4E65_F6C3)) {
            _ = try RecordBatch(decoding: buffer, at: 0)
        }
    }

    /// Every prefix of a batch is a typed error for the single-batch decoder and an
    /// incomplete tail (no records, no error) for the record set reader.
    @Test(arguments: CompressionCodec.allCases)
    func everyPrefixIsTruncatedOrIncompleteTail(codec: CompressionCodec) throws {
        var builder = RecordBatchBuilder(compression: codec)
        for record in Self.sampleRecords(count: 5) {
            try builder.append(timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers)
        }
        let full = try builder.build()
        for length in 0..<full.readableBytes {
            let prefix = full.getSlice(at: 0, length: length)!
            #expect(throws: KafkaProtocolError.self) { _ = try RecordBatch(decoding: prefix, at: 0) }
            let (records, tail) = try RecordSetReader.decodeAll(prefix)
            #expect(records.isEmpty)
            #expect(tail == length)
            var strict = RecordSetReader(prefix, options: RecordDecodingOptions(allowsIncompleteTail: false))
            if length > 0 {
                #expect(throws: KafkaProtocolError.self) { _ = try strict.next() }
            }
        }
    }

    /// Structural damage inside a batch with a valid CRC: typed errors, never a trap.
    @Test func malformedRecordsWithValidCRC() throws {
        func batch(recordCount: Int32, body: [UInt8]) throws -> ByteBuffer {
            var buffer = ByteBuffer()
            RecordBatchHeader(recordCount: recordCount).write(to: &buffer)
            buffer.writeBytes(body)
            buffer.setInteger(Int32(buffer.readableBytes - 12), at: 8, endianness: .big)
            // Computed over the bytes directly: the header parser would refuse some of these headers.
            buffer.setInteger(try CRC32C.checksum(buffer, at: 21, length: buffer.readableBytes - 21), at: 17, endianness: .big)
            return buffer
        }
        // A valid record (length 6, zig-zag 0x0c: attributes, ts delta, offset delta, key -1, value -1,
        // 0 headers) is 0c 00 00 00 01 01 00. Each case damages it.
        let cases: [(Int32, [UInt8])] = [
            (1, [0x0C, 0x00, 0x00, 0x00, 0x01, 0x01]),            // record shorter than its length
            (2, [0x0C, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00]),      // fewer records than declared
            (1, [0x0C, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00]), // bytes after the last record
            (1, [0x01]),                                           // negative record length
            (1, [0x0C, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00]),      // key length -2
            (1, [0x0C, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00]),      // key past the record
            (1, [0x0C, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01]),      // header count -1
            (1, [0x0C, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02]),      // a header that is not there
            (1, [0x18, 0x00] + [UInt8](repeating: 0xFF, count: 11)),  // overlong timestamp delta varlong
            (1, [0x14, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x04, 0xC3, 0x28, 0x01]), // header key not UTF-8
            (-1, []),                                               // negative count
            (1_000_000, [0x0C, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00]), // count the bytes cannot hold
        ]
        for (count, body) in cases {
            let buffer = try batch(recordCount: count, body: body)
            #expect(throws: KafkaProtocolError.self, "count \(count) body \(body)") {
                _ = try RecordBatch(decoding: buffer, at: 0).records()
            }
        }
        // And the valid one decodes.
        let valid = try batch(recordCount: 1, body: [0x0C, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00])
        #expect(try RecordBatch(decoding: valid, at: 0).records() == [Record(offset: 0, timestamp: -1, key: nil, value: nil)])
    }

    @Test func unknownCodecAndMagic() throws {
        var buffer = ByteBuffer(hex: TestVectors.transactionalBatch)
        buffer.setInteger(Int16(0x0017), at: RecordBatchHeader.Layout.attributes, endianness: .big) // codec 7
        buffer.setInteger(try RecordBatchHeader.computeCRC(in: buffer, at: 0), at: RecordBatchHeader.Layout.crc, endianness: .big)
        #expect(throws: KafkaProtocolError.unknownCompressionCodec(7)) { _ = try RecordBatch(decoding: buffer, at: 0) }
        buffer.setInteger(Int8(3), at: RecordBatchHeader.Layout.magic)
        #expect(throws: KafkaProtocolError.unsupportedMagic(3)) { _ = try RecordBatch(decoding: buffer, at: 0) }
        #expect(throws: KafkaProtocolError.unsupportedMagic(3)) { _ = try RecordSetReader.decodeAll(buffer) }
    }

    @Test func attributesBits() {
        var attributes = RecordBatchAttributes(rawValue: 0)
        attributes.compression = .zstd
        attributes.timestampType = .logAppendTime
        attributes.isTransactional = true
        attributes.isControl = true
        attributes.hasDeleteHorizon = true
        #expect(attributes.rawValue == 0b111_1100)
        attributes.compression = .gzip
        attributes.isControl = false
        #expect(attributes.rawValue == 0b101_1001)
    }

    @Test func noCopyOfKeysAndValues() throws {
        let buffer = ByteBuffer(hex: TestVectors.transactionalBatch)
        let records = try RecordBatch(decoding: buffer, at: 0).records()
        // The value slice points into the input's storage.
        let valuePointer = records[0].value!.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let inputRange = buffer.withUnsafeReadableBytes { (UInt(bitPattern: $0.baseAddress!), $0.count) }
        #expect(valuePointer >= inputRange.0 && valuePointer < inputRange.0 + UInt(inputRange.1))
    }
}

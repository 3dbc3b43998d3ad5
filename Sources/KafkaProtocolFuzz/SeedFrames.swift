import KafkaProtocol
import NIOCore

/// A record as the generator intended it, to check what a clean decode returns.
struct ExpectedRecord: Equatable {
    var offset: Int64
    var timestamp: Int64
    var key: [UInt8]?
    var value: [UInt8]?
    var headers: [Header]

    struct Header: Equatable {
        var key: String
        var value: [UInt8]?
    }

    init(offset: Int64, timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [Header]) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    init(_ record: Record) {
        self.offset = record.offset
        self.timestamp = record.timestamp
        self.key = record.key.map { Array($0.readableBytesView) }
        self.value = record.value.map { Array($0.readableBytesView) }
        self.headers = record.headers.map { Header(key: $0.key, value: $0.value.map { Array($0.readableBytesView) }) }
    }
}

/// A valid frame and what decoding it must give.
struct SeedFrame {
    var bytes: [UInt8]
    var expected: [ExpectedRecord]
    /// For batches built from a plaintext body: rebuilds the frame around a (mutated) body.
    var rebuild: (([UInt8]) throws -> [UInt8])?
    var plaintext: [UInt8]?
    /// The frame's entries as a record set reader sees them: sizes and record counts.
    var entries: [(size: Int, records: Int)]

    init(bytes: [UInt8], expected: [ExpectedRecord], rebuild: (([UInt8]) throws -> [UInt8])? = nil,
         plaintext: [UInt8]? = nil, entries: [(size: Int, records: Int)]? = nil) {
        self.bytes = bytes
        self.expected = expected
        self.rebuild = rebuild
        self.plaintext = plaintext
        self.entries = entries ?? [(bytes.count, expected.count)]
    }
}

/// Generates valid frames of every kind from the fuzzer's random stream.
enum SeedFrames {
    static func bytes(_ random: inout FuzzRandom, maxLength: Int) -> [UInt8] {
        let length = random.int(0...maxLength)
        // Half the time compressible (a few distinct bytes), so codecs produce real back-references.
        if random.chance(0.5) {
            let alphabet = random.bytes(random.int(1...4))
            return (0..<length).map { _ in random.pick(alphabet) }
        }
        return random.bytes(length)
    }

    static func headerKey(_ random: inout FuzzRandom) -> String {
        let scalars = ["a", "b", "trace-id", "é", "ü", "键", "x"]
        return (0..<random.int(0...3)).map { _ in random.pick(scalars) }.joined()
    }

    /// A magic-2 batch through `RecordBatchBuilder`.
    static func recordBatch(_ random: inout FuzzRandom) throws -> SeedFrame {
        let codec = random.pick(CompressionCodec.allCases)
        let logAppend = random.chance(0.15)
        let logAppendTime = Int64(random.int(0...1 << 41))
        let baseOffset = Int64(random.int(0...1 << 40))
        var builder = RecordBatchBuilder(
            baseOffset: baseOffset, compression: codec,
            producerId: random.chance(0.5) ? Int64(random.int(0...1 << 40)) : -1,
            producerEpoch: Int16(random.int(-1...100)), baseSequence: Int32(random.int(-1...1000)),
            isTransactional: random.chance(0.3), partitionLeaderEpoch: Int32(random.int(-1...50)),
            timestampType: logAppend ? .logAppendTime : .createTime, logAppendTime: logAppend ? logAppendTime : nil)
        var expected: [ExpectedRecord] = []
        var delta: Int32 = -1
        let baseTimestamp = Int64(random.int(0...1 << 41))
        for _ in 0..<random.int(0...12) {
            delta += random.chance(0.8) ? 1 : Int32(random.int(1...5))
            let timestamp = baseTimestamp + Int64(random.int(-5000...5000))
            let key = random.chance(0.2) ? nil : bytes(&random, maxLength: 24)
            let value = random.chance(0.1) ? nil : bytes(&random, maxLength: 300)
            let headers = (0..<(random.chance(0.6) ? 0 : random.int(1...3))).map { _ in
                ExpectedRecord.Header(key: headerKey(&random), value: random.chance(0.2) ? nil : bytes(&random, maxLength: 16))
            }
            try builder.append(offsetDelta: delta, timestamp: timestamp, key: key.map { ByteBuffer(bytes: $0) },
                               value: value.map { ByteBuffer(bytes: $0) },
                               headers: headers.map { RecordHeader(key: $0.key, value: $0.value.map { ByteBuffer(bytes: $0) }) })
            expected.append(ExpectedRecord(offset: baseOffset + Int64(delta), timestamp: timestamp, key: key, value: value, headers: headers))
        }
        if logAppend {
            for index in expected.indices { expected[index].timestamp = logAppendTime }
        }
        let batch = try builder.build()
        let frameBytes = Array(batch.readableBytesView)
        // The plaintext body is what an uncompressed build puts after the header.
        var plainBuilder = builder
        plainBuilder.compression = .none
        let plainBatch = try plainBuilder.build()
        let plaintext = Array(plainBatch.readableBytesView.dropFirst(RecordBatchHeader.size))
        let header = try RecordBatchHeader(from: batch, at: batch.readerIndex)
        return SeedFrame(bytes: frameBytes, expected: expected, rebuild: { body in
            try assembleBatch(header: header, codec: codec, body: body)
        }, plaintext: plaintext)
    }

    /// A batch with `header` around `body` (compressed with `codec`), with a correct length and CRC.
    static func assembleBatch(header: RecordBatchHeader, codec: CompressionCodec, body: [UInt8]) throws -> [UInt8] {
        var buffer = ByteBuffer()
        header.write(to: &buffer)
        try body.withUnsafeBytes { try codec.compress($0, appendingTo: &buffer) }
        buffer.setInteger(Int32(buffer.readableBytes - RecordBatchHeader.logOverhead), at: RecordBatchHeader.Layout.batchLength, endianness: .big)
        let crc = try RecordBatchHeader.computeCRC(in: buffer, at: 0)
        buffer.setInteger(crc, at: RecordBatchHeader.Layout.crc, endianness: .big)
        return Array(buffer.readableBytesView)
    }

    /// A control batch with one commit or abort marker.
    static func controlBatch(_ random: inout FuzzRandom) throws -> SeedFrame {
        let marker = ControlRecord.endTransaction(commit: random.chance(0.5), coordinatorEpoch: Int32(random.int(0...1000)))
        let timestamp = Int64(random.int(0...1 << 41))
        let baseOffset = Int64(random.int(0...1 << 30))
        let batch = try RecordBatchBuilder.endTransactionMarker(marker, baseOffset: baseOffset, timestamp: timestamp,
                                                                producerId: Int64(random.int(0...1 << 30)), producerEpoch: 3)
        let expected = ExpectedRecord(offset: baseOffset, timestamp: timestamp, key: Array(marker.encodedKey().readableBytesView),
                                      value: marker.encodedValue().map { Array($0.readableBytesView) }, headers: [])
        return SeedFrame(bytes: Array(batch.readableBytesView), expected: [expected])
    }

    /// A magic-0 or magic-1 message set: plain messages, or one compressed wrapper.
    static func legacyMessageSet(_ random: inout FuzzRandom) throws -> SeedFrame {
        let magic: Int8 = random.chance(0.5) ? 0 : 1
        let codec = random.pick(CompressionCodec.allCases.filter { $0 != .zstd }) // zstd needs magic 2
        let baseOffset = Int64(random.int(0...1 << 30))
        let count = random.int(1...6)
        var expected: [ExpectedRecord] = []
        var messages: [[UInt8]] = []
        for index in 0..<count {
            let timestamp = magic == 0 ? -1 : Int64(random.int(0...1 << 41))
            let key = random.chance(0.3) ? nil : bytes(&random, maxLength: 16)
            let value = random.chance(0.1) ? nil : bytes(&random, maxLength: 200)
            // Inner offsets of a magic-1 wrapper are relative.
            let storedOffset = codec != .none && magic == 1 ? Int64(index) : baseOffset + Int64(index)
            messages.append(LegacyWriter.message(offset: storedOffset, magic: magic, attributes: 0, timestamp: timestamp, key: key, value: value))
            expected.append(ExpectedRecord(offset: baseOffset + Int64(index), timestamp: timestamp, key: key, value: value, headers: []))
        }
        guard codec != .none else {
            // Each uncompressed message is an entry of its own.
            return SeedFrame(bytes: messages.flatMap { $0 }, expected: expected, entries: messages.map { ($0.count, 1) })
        }
        let inner = messages.flatMap { $0 }
        let wrap = { (body: [UInt8]) throws -> [UInt8] in
            var compressed = ByteBuffer()
            try body.withUnsafeBytes { try codec.compress($0, appendingTo: &compressed) }
            return LegacyWriter.message(offset: baseOffset + Int64(count - 1), magic: magic, attributes: Int8(codec.rawValue),
                                        timestamp: magic == 0 ? -1 : 0, key: nil, value: Array(compressed.readableBytesView))
        }
        return SeedFrame(bytes: try wrap(inner), expected: expected, rebuild: wrap, plaintext: inner)
    }
}

/// Writes magic-0/1 messages, which Rivulet only needs to read; this exists for seeds.
enum LegacyWriter {
    static func message(offset: Int64, magic: Int8, attributes: Int8, timestamp: Int64, key: [UInt8]?, value: [UInt8]?) -> [UInt8] {
        var body: [UInt8] = [UInt8(bitPattern: magic), UInt8(bitPattern: attributes)]
        if magic >= 1 { body += bigEndian(timestamp) }
        for field in [key, value] {
            if let field {
                body += bigEndian(Int32(field.count)) + field
            } else {
                body += bigEndian(Int32(-1))
            }
        }
        return bigEndian(offset) + bigEndian(Int32(body.count + 4)) + bigEndian(CRC32IEEE.checksum(body[...])) + body
    }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// Recomputes the CRC of the message at `index` of `bytes` over what its size claims (or what is there).
    static func repairCRC(_ bytes: inout [UInt8], at index: Int) {
        guard bytes.count - index >= 17 else { return }
        let size = Int(Int32(bitPattern: bytes[(index + 8)..<(index + 12)].reduce(0) { $0 << 8 | UInt32($1) }))
        let end = min(bytes.count, index + 12 + max(size, 4))
        guard end > index + 16 else { return }
        let crc = bigEndian(CRC32IEEE.checksum(bytes[(index + 16)..<end]))
        bytes.replaceSubrange((index + 12)..<(index + 16), with: crc)
    }
}

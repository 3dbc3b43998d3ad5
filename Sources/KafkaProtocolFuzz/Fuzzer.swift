import KafkaProtocol
import NIOCore

/// Runs one randomly chosen decoder target per iteration and counts outcomes. A crash
/// ends the process (that is the failure being hunted); an error from a Rivulet record
/// decoder that is not a `KafkaProtocolError`, or a clean seed that does not decode to
/// what was encoded, is recorded as a failure.
struct Fuzzer {
    var random: FuzzRandom
    private(set) var runs: [String: Int] = [:]
    private(set) var accepted: [String: Int] = [:]
    private(set) var failures: [String] = []
    private var messages: MessageFuzzer
    private var batchSeeds: [SeedFrame] = []
    private var legacySeeds: [SeedFrame] = []
    private var controlSeeds: [SeedFrame] = []

    init(seed: UInt64, messageTypes: [any KafkaMessage.Type]) {
        self.random = FuzzRandom(seed: seed)
        self.messages = MessageFuzzer(types: messageTypes)
    }

    var messageCases: Int { self.messages.caseCount }
    var messagesDecoded: Int { self.messages.decoded }
    var messageRoundTripMismatches: Int { self.messages.roundTripMismatches }

    mutating func iterate() {
        switch self.random.int(0...11) {
        case 0, 1: self.fuzzBatch()
        case 2: self.fuzzBatchPlaintext()
        case 3: self.fuzzControl()
        case 4: self.fuzzLegacy(plaintext: false)
        case 5: self.fuzzLegacy(plaintext: true)
        case 6: self.fuzzCodec()
        case 7: self.fuzzHeader()
        case 8: self.fuzzRecordSet()
        case 9: self.fuzzRandomBytes()
        default:
            // With an empty registry (before the generated messages exist) this slot fuzzes batches.
            if let decoded = self.messages.run(&self.random) { self.count("message", accepted: decoded) } else { self.fuzzBatch() }
        }
    }

    // MARK: Seeds

    /// A seed of one kind: usually one from the pool, sometimes a fresh one, which is then checked.
    private mutating func seed(_ pool: WritableKeyPath<Fuzzer, [SeedFrame]>, _ make: (inout FuzzRandom) throws -> SeedFrame) -> SeedFrame? {
        if self[keyPath: pool].count >= 16 && self.random.chance(0.85) {
            return self.random.pick(self[keyPath: pool])
        }
        let frame: SeedFrame
        do {
            frame = try make(&self.random)
        } catch {
            self.fail("generating a seed threw \(error)")
            return nil
        }
        self.checkClean(frame)
        if self[keyPath: pool].count < 16 { self[keyPath: pool].append(frame) } else { self[keyPath: pool][self.random.index(16)] = frame }
        return frame
    }

    /// An unmutated frame must decode to exactly what was encoded.
    private mutating func checkClean(_ frame: SeedFrame) {
        do {
            let (records, tail) = try RecordSetReader.decodeAll(ByteBuffer(bytes: frame.bytes))
            let decoded = records.map(ExpectedRecord.init)
            if decoded != frame.expected || tail != 0 {
                self.fail("clean frame decoded differently: expected \(frame.expected), got \(decoded), tail \(tail)")
            }
        } catch {
            self.fail("clean frame failed to decode: \(error); bytes \(frame.bytes)")
        }
    }

    // MARK: Targets

    private mutating func fuzzBatch() {
        guard let frame = self.seed(\.batchSeeds, SeedFrames.recordBatch) else { return }
        var bytes = Mutator.mutate(frame.bytes, random: &self.random, lengthFields: [8, 23, 57, 61])
        // Without a repaired CRC almost every mutation stops at the checksum.
        if self.random.chance(0.6) { Self.repairBatchCRC(&bytes) }
        self.decodeAll("batch", bytes)
    }

    private mutating func fuzzBatchPlaintext() {
        guard let frame = self.seed(\.batchSeeds, SeedFrames.recordBatch), let plaintext = frame.plaintext, let rebuild = frame.rebuild else { return }
        let body = Mutator.mutate(plaintext, random: &self.random, lengthFields: [0, 1, 2])
        guard let bytes = try? rebuild(body) else { return self.fail("rebuilding a batch threw") }
        self.decodeAll("batch-plaintext", bytes)
    }

    private mutating func fuzzControl() {
        guard let frame = self.seed(\.controlSeeds, SeedFrames.controlBatch) else { return }
        if self.random.chance(0.5) {
            var bytes = Mutator.mutate(frame.bytes, random: &self.random, lengthFields: [8, 57])
            Self.repairBatchCRC(&bytes)
            self.decodeAll("control-batch", bytes)
        } else {
            let record = frame.expected[0]
            let key = self.random.chance(0.1) ? nil : Mutator.mutate(record.key ?? [], random: &self.random)
            let value = self.random.chance(0.1) ? nil : Mutator.mutate(record.value ?? [], random: &self.random)
            self.guarded("control-record") {
                let control = try ControlRecord(key: key.map { ByteBuffer(bytes: $0) }, value: value.map { ByteBuffer(bytes: $0) })
                _ = (control.encodedKey(), control.encodedValue())
            }
        }
    }

    private mutating func fuzzLegacy(plaintext: Bool) {
        guard let frame = self.seed(\.legacySeeds, SeedFrames.legacyMessageSet) else { return }
        if plaintext, let inner = frame.plaintext, let rebuild = frame.rebuild {
            var body = Mutator.mutate(inner, random: &self.random, lengthFields: [8])
            if self.random.chance(0.7) { LegacyWriter.repairCRC(&body, at: 0) }
            guard let bytes = try? rebuild(body) else { return self.fail("rebuilding a legacy wrapper threw") }
            self.decodeAll("legacy-plaintext", bytes)
        } else {
            var bytes = Mutator.mutate(frame.bytes, random: &self.random, lengthFields: [8])
            if self.random.chance(0.6) { LegacyWriter.repairCRC(&bytes, at: 0) }
            self.decodeAll("legacy", bytes)
        }
    }

    private mutating func fuzzCodec() {
        let codec = self.random.pick(CompressionCodec.allCases)
        let plain = SeedFrames.bytes(&self.random, maxLength: 4096)
        var compressed = ByteBuffer()
        do {
            try plain.withUnsafeBytes { try codec.compress($0, appendingTo: &compressed) }
            let back = try codec.decompress(compressed)
            if Array(back.readableBytesView) != plain { self.fail("\(codec) round trip differs") }
        } catch {
            return self.fail("\(codec) round trip threw \(error)")
        }
        var bytes = Array(compressed.readableBytesView)
        if codec == .snappy && self.random.chance(0.5) { bytes = Self.xerialFrame(plain, random: &self.random) }
        let mutated = self.random.chance(0.1) ? bytes : Mutator.mutate(bytes, random: &self.random, lengthFields: [16])
        let limit = self.random.chance(0.3) ? self.random.int(0...8192) : CompressionCodec.defaultMaxDecompressedBytes
        let legacy = self.random.chance(0.3)
        self.guarded("codec-\(codec)") {
            _ = try mutated.withUnsafeBytes { try codec.decompress($0, maxOutputBytes: limit, legacyLZ4HeaderChecksum: legacy) }
        }
    }

    private mutating func fuzzHeader() {
        guard let frame = self.seed(\.batchSeeds, SeedFrames.recordBatch) else { return }
        var buffer = ByteBuffer(bytes: Mutator.mutate(frame.bytes, random: &self.random, lengthFields: [8, 57]))
        let index = self.random.chance(0.8) ? 0 : self.random.int(-4...(buffer.writerIndex + 4))
        let newOffset = Int64(self.random.int(0...1 << 40))
        self.guarded("header") {
            let header = try RecordBatchHeader(from: buffer, at: index)
            _ = (header.lastSequence, header.nextOffset, header.totalSize)
            try RecordBatchHeader.setBaseOffset(newOffset, in: &buffer, at: index)
            try RecordBatchHeader.verifyCRC(in: buffer, at: index)
            try RecordBatchHeader.setLogAppendTime(1, in: &buffer, at: index)
            try RecordBatchHeader.verifyCRC(in: buffer, at: index)
        }
    }

    /// Several clean entries back to back, cut anywhere: the complete entries must come
    /// out intact and the rest must be reported as an incomplete tail.
    private mutating func fuzzRecordSet() {
        var frames: [SeedFrame] = []
        for _ in 0..<self.random.int(1...3) {
            let frame = self.random.chance(0.7) ? self.seed(\.batchSeeds, SeedFrames.recordBatch) : self.seed(\.legacySeeds, SeedFrames.legacyMessageSet)
            guard let frame else { return }
            frames.append(frame)
        }
        let all = frames.flatMap(\.bytes)
        let cut = self.random.int(0...all.count)
        var complete: [ExpectedRecord] = []
        var boundary = 0
        var recordIndex = 0
        outer: for frame in frames {
            recordIndex = 0
            for entry in frame.entries {
                guard boundary + entry.size <= cut else { break outer }
                boundary += entry.size
                complete += frame.expected[recordIndex..<(recordIndex + entry.records)]
                recordIndex += entry.records
            }
        }
        self.count("record-set", accepted: true)
        do {
            let (records, tail) = try RecordSetReader.decodeAll(ByteBuffer(bytes: all[..<cut]))
            if records.map(ExpectedRecord.init) != complete || tail != cut - boundary {
                self.fail("cut record set: expected \(complete.count) records and a \(cut - boundary)-byte tail, got \(records.count) and \(tail)")
            }
        } catch {
            self.fail("cut record set threw \(error)")
        }
        var strict = RecordSetReader(ByteBuffer(bytes: all[..<cut]), options: RecordDecodingOptions(allowsIncompleteTail: false))
        do {
            try strict.forEachRecord { _ in }
            if cut != boundary { self.fail("a strict reader accepted a partial batch") }
        } catch is KafkaProtocolError {
            if cut == boundary { self.fail("a strict reader refused complete batches") }
        } catch {
            self.fail("untyped error \(error)")
        }
    }

    private mutating func fuzzRandomBytes() {
        var bytes = self.random.bytes(self.random.int(0...128))
        // Give the reader a plausible size and magic some of the time so it gets past the first checks.
        if bytes.count >= 17 && self.random.chance(0.7) {
            let size = UInt32(bytes.count - 12)
            for i in 0..<4 { bytes[8 + i] = UInt8(truncatingIfNeeded: size >> (24 - 8 * UInt32(i))) }
            bytes[16] = UInt8(self.random.int(0...2))
        }
        self.decodeAll("random", bytes)
    }

    // MARK: Helpers

    /// Runs every record decoder over `bytes`: the record set reader (all records, control records too),
    /// and the single-batch decoders.
    private mutating func decodeAll(_ target: String, _ bytes: [UInt8]) {
        let buffer = ByteBuffer(bytes: bytes)
        let options = RecordDecodingOptions(verifyChecksums: self.random.chance(0.9),
                                            maxDecompressedBytes: self.random.chance(0.2) ? 512 : CompressionCodec.defaultMaxDecompressedBytes,
                                            allowsIncompleteTail: self.random.chance(0.8))
        self.guarded(target) {
            var reader = RecordSetReader(buffer, options: options)
            while let entry = try reader.next() {
                var total = 0
                try entry.forEachRecord { record in
                    total &+= (record.key?.readableBytes ?? 0) &+ (record.value?.readableBytes ?? 0) &+ record.headers.count
                }
                if case let .batch(batch) = entry, batch.isControl {
                    for record in try batch.records() { _ = try? ControlRecord(record) }
                }
            }
        }
        _ = try? RecordBatch(decoding: buffer, at: 0, options: options).records()
        _ = try? LegacyRecordBatch(decoding: buffer, at: 0, options: options)
    }

    /// Runs `body`; a `KafkaProtocolError` is an expected outcome, any other error a failure.
    private mutating func guarded(_ target: String, _ body: () throws -> Void) {
        do {
            try body()
            self.count(target, accepted: true)
        } catch is KafkaProtocolError {
            self.count(target, accepted: false)
        } catch {
            self.count(target, accepted: false)
            self.fail("\(target): untyped error \(error)")
        }
    }

    private mutating func count(_ target: String, accepted: Bool) {
        self.runs[target, default: 0] += 1
        if accepted { self.accepted[target, default: 0] += 1 }
    }

    private mutating func fail(_ message: String) {
        if self.failures.count < 20 { self.failures.append(message) }
    }

    static func repairBatchCRC(_ bytes: inout [UInt8]) {
        guard bytes.count >= RecordBatchHeader.size, bytes[16] == 2 else { return }
        let length = Int(Int32(bitPattern: bytes[8..<12].reduce(0) { $0 << 8 | UInt32($1) }))
        let end = min(bytes.count, max(RecordBatchHeader.size, 12 + length))
        let crc = bytes[21..<end].withUnsafeBytes { CRC32C.checksum($0) }
        bytes.replaceSubrange(17..<21, with: LegacyWriter.bigEndian(crc))
    }

    /// `plain` in the xerial framing Kafka's Java client writes: header, then blocks.
    static func xerialFrame(_ plain: [UInt8], random: inout FuzzRandom) -> [UInt8] {
        var frame: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        let blockSize = random.int(1...2048)
        var start = 0
        repeat {
            let block = Array(plain[start..<min(plain.count, start + blockSize)])
            var compressed = ByteBuffer()
            try? block.withUnsafeBytes { try CompressionCodec.snappy.compress($0, appendingTo: &compressed) }
            frame += LegacyWriter.bigEndian(Int32(compressed.readableBytes)) + Array(compressed.readableBytesView)
            start += blockSize
        } while start < plain.count
        return frame
    }
}

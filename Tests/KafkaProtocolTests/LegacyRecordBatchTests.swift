import NIOCore
import Testing
@testable import KafkaProtocol

@Suite struct LegacyRecordBatchTests {
    static let keys: [[UInt8]?] = [nil, Array("k1".utf8)]
    static let values = ["legacy-0", "legacy-1"]

    @Test(arguments: [0, 1, 2, 3])
    func magic0FromKafkaPython(codecID: Int) throws {
        let buffer = ByteBuffer(hex: TestVectors.legacySets["0_\(codecID)"]!)
        let (records, tail) = try RecordSetReader.decodeAll(buffer)
        #expect(tail == 0)
        // Magic 0 has no timestamps, and inner offsets are taken as they are.
        #expect(records == [
            Record(offset: 0, offsetDelta: 0, timestamp: -1, key: nil, value: ByteBuffer(string: "legacy-0")),
            Record(offset: 1, offsetDelta: codecID == 0 ? 0 : 1, timestamp: -1, key: ByteBuffer(string: "k1"), value: ByteBuffer(string: "legacy-1")),
        ])
    }

    @Test(arguments: [0, 1, 2, 3])
    func magic1FromKafkaPython(codecID: Int) throws {
        var buffer = ByteBuffer(hex: TestVectors.legacySets["1_\(codecID)"]!)
        if codecID != 0 {
            // A broker gives the wrapper the absolute offset of its last inner message; kafka-python
            // leaves 0. The offset field is outside the CRC, so set it as a broker would.
            buffer.setInteger(Int64(100), at: 0, endianness: .big)
        }
        let (records, _) = try RecordSetReader.decodeAll(buffer)
        let base: Int64 = codecID == 0 ? 0 : 99
        #expect(records == [
            Record(offset: base, offsetDelta: 0, timestamp: 1_600_000_000_000, key: nil, value: ByteBuffer(string: "legacy-0")),
            Record(offset: base + 1, offsetDelta: codecID == 0 ? 0 : 1, timestamp: 1_600_000_000_001,
                   key: ByteBuffer(string: "k1"), value: ByteBuffer(string: "legacy-1")),
        ])
        var reader = RecordSetReader(buffer)
        guard case let .legacy(first)? = try reader.next() else { Issue.record("not legacy"); return }
        #expect(first.magic == 1)
        #expect(first.compression.rawValue == codecID)
    }

    @Test func logAppendTimeWrapperOverridesInnerTimestamps() throws {
        var buffer = ByteBuffer(hex: TestVectors.legacySets["1_1"]!)
        // Attributes: gzip | LogAppendTime; wrapper timestamp 1234; then the CRC again (zlib's CRC-32 of magic..end).
        buffer.setInteger(UInt8(0x09), at: 17)
        buffer.setInteger(Int64(1234), at: 18, endianness: .big)
        let crc = buffer.getSlice(at: 16, length: buffer.readableBytes - 16)!.withUnsafeReadableBytes { raw in
            raw.reduce(into: UInt32(0xFFFF_FFFF)) { crc, byte in
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            } ^ 0xFFFF_FFFF
        }
        buffer.setInteger(crc, at: 12, endianness: .big)
        let (records, _) = try RecordSetReader.decodeAll(buffer)
        #expect(records.map(\.timestamp) == [1234, 1234])
    }

    @Test func corruptedLegacyMessages() throws {
        let original = ByteBuffer(hex: TestVectors.legacySets["1_1"]!)
        // A flipped byte anywhere in the CRC-covered part is a CRC mismatch.
        for index in 16..<original.readableBytes {
            var buffer = original
            buffer.setInteger(buffer.getInteger(at: index, as: UInt8.self)! ^ 0x40, at: index)
            #expect(throws: KafkaProtocolError.self) { _ = try RecordSetReader.decodeAll(buffer) }
        }
        // Every prefix: an incomplete tail for the reader, an error for the single-message decoder.
        for length in 0..<original.readableBytes {
            let prefix = original.getSlice(at: 0, length: length)!
            let (records, tail) = try RecordSetReader.decodeAll(prefix)
            #expect(records.isEmpty && tail == length)
            #expect(throws: KafkaProtocolError.self) { _ = try LegacyRecordBatch(decoding: prefix, at: 0) }
        }
    }
}

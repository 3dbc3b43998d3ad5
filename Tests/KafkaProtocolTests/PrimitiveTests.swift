import Foundation
import NIOCore
import Testing
@testable import KafkaProtocol

@Suite struct PrimitiveTests {
    @Test(arguments: [Int64(0), 1, -1, 63, -64, 64, 300, -300, Int64(Int32.max), Int64(Int32.min), Int64.max, Int64.min])
    func varlongRoundTrip(value: Int64) throws {
        var buffer = ByteBuffer()
        buffer.writeVarlong(value)
        #expect(buffer.readableBytes == ByteBuffer.varlongSize(value))
        #expect(try buffer.readVarlong(context: "test") == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test func zigZagMatchesProtobufVectors() throws {
        // Protobuf's documented zig-zag table: 0→0, -1→1, 1→2, -2→3, 2147483647→4294967294, -2147483648→4294967295.
        let vectors: [(Int32, UInt32)] = [(0, 0), (-1, 1), (1, 2), (-2, 3), (Int32.max, 4_294_967_294), (Int32.min, 4_294_967_295)]
        for (signed, unsigned) in vectors {
            var a = ByteBuffer(); a.writeVarint(signed)
            var b = ByteBuffer(); b.writeUnsignedVarint(unsigned)
            #expect(a == b)
        }
    }

    @Test func truncatedVarintIsTypedError() {
        var buffer = ByteBuffer(bytes: [0x80, 0x80])
        #expect(throws: KafkaProtocolError.self) { try buffer.readUnsignedVarint(context: "x") }
    }

    @Test func overlongVarintIsRefused() {
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(throws: KafkaProtocolError.malformedVarint(context: "x")) { try buffer.readUnsignedVarint(context: "x") }
    }

    @Test func stringLengthPastEndIsRefused() {
        var buffer = ByteBuffer(bytes: [0x00, 0x10, 0x41])
        #expect(throws: KafkaProtocolError.truncated(context: "s", needed: 16, available: 1)) {
            try buffer.readKafkaString(compact: false, context: "s")
        }
    }

    @Test func hugeArrayCountAllocatesNothing() {
        var buffer = ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF, 0x00])
        #expect(throws: KafkaProtocolError.invalidCount(context: "a", count: Int(Int32.max))) {
            try buffer.readKafkaArrayCount(compact: false, context: "a")
        }
    }

    @Test func invalidUTF8IsRefused() {
        var buffer = ByteBuffer(bytes: [0x00, 0x02, 0xC3, 0x28])
        #expect(throws: KafkaProtocolError.invalidUTF8(context: "s")) { try buffer.readKafkaString(compact: false, context: "s") }
    }

    @Test func compactNullString() throws {
        var buffer = ByteBuffer()
        try buffer.writeKafkaString(nil, compact: true)
        try buffer.writeKafkaString("héllo", compact: true)
        #expect(try buffer.readKafkaNullableString(compact: true, context: "s") == nil)
        #expect(try buffer.readKafkaString(compact: true, context: "s") == "héllo")
    }

    @Test func uuidBitsRoundTrip() throws {
        var buffer = ByteBuffer()
        let id = UUID(kafkaHigh: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
        buffer.writeKafkaUUID(id)
        #expect(buffer.getBytes(at: 0, length: 2) == [0x01, 0x23])
        #expect(try buffer.readKafkaUUID(context: "u") == id)
    }
}

import Foundation
import NIOCore
@testable import Rivulet
import Testing

/// Every expected byte sequence below is written out by hand from the format's definition
/// (Kafka's serializers: big-endian two's complement, IEEE 754 bits, UTF-8 text), never taken
/// from what the code under test produced.
@Suite struct SerdeTests {
    private func bytes<T>(_ serde: Serde<T>, _ value: T) throws -> [UInt8]? {
        try serde.serialize(value).map { Array($0.readableBytesView) }
    }

    @Test func int64IsBigEndianTwosComplement() throws {
        #expect(try bytes(.int64, 1) == [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(try bytes(.int64, -2) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE])
        #expect(try bytes(.int64, 0x0102_0304_0506_0708) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try Serde<Int64>.int64.deserialize([0x80, 0, 0, 0, 0, 0, 0, 0]) == Int64.min)
        #expect(try Serde<Int64>.int64.deserialize([0, 0, 0, 0, 0, 0, 0x01, 0x00]) == 256)
    }

    @Test func int32AndInt16AreBigEndian() throws {
        #expect(try bytes(.int32, 258) == [0, 0, 1, 2])
        #expect(try bytes(.int32, Int32.min) == [0x80, 0, 0, 0])
        #expect(try Serde<Int32>.int32.deserialize([0xFF, 0xFF, 0xFF, 0xFF]) == -1)
        #expect(try bytes(.int16, -1) == [0xFF, 0xFF])
        #expect(try Serde<Int16>.int16.deserialize([0x01, 0x00]) == 256)
    }

    @Test func floatingPointIsIEEE754BigEndian() throws {
        // 1.0 = 0x3FF0_0000_0000_0000; -2.5 = sign 1, exponent 0x400, mantissa 0.25 = 0xC004_0000_0000_0000.
        #expect(try bytes(.double, 1.0) == [0x3F, 0xF0, 0, 0, 0, 0, 0, 0])
        #expect(try bytes(.double, -2.5) == [0xC0, 0x04, 0, 0, 0, 0, 0, 0])
        #expect(try Serde<Double>.double.deserialize([0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18]) == Double.pi)
        // 1.0f = 0x3F80_0000.
        #expect(try bytes(.float, 1.0) == [0x3F, 0x80, 0, 0])
        #expect(try Serde<Float>.float.deserialize([0xC0, 0x20, 0, 0]) == -2.5)
    }

    @Test func boolIsOneByte() throws {
        #expect(try bytes(.bool, true) == [1])
        #expect(try bytes(.bool, false) == [0])
        #expect(try Serde<Bool>.bool.deserialize([1]) == true)
        #expect(throws: SerdeError.self) { try Serde<Bool>.bool.deserialize([2]) }
    }

    @Test func stringIsUTF8() throws {
        #expect(try bytes(.string, "héllo") == [0x68, 0xC3, 0xA9, 0x6C, 0x6C, 0x6F])
        #expect(try bytes(.string, "") == [])
        #expect(try Serde<String>.string.deserialize([0xE2, 0x82, 0xAC]) == "€")
        // Malformed UTF-8 is repaired, not rejected (as the JVM's decoder does).
        #expect(try Serde<String>.string.deserialize([0x61, 0xFF]) == "a\u{FFFD}")
    }

    @Test func uuidIsItsLowercase36CharacterString() throws {
        let uuid = try #require(UUID(uuidString: "123E4567-E89B-12D3-A456-426614174000"))
        #expect(try bytes(.uuid, uuid) == Array("123e4567-e89b-12d3-a456-426614174000".utf8))
        #expect(try Serde<UUID>.uuid.deserialize(Array("123e4567-e89b-12d3-a456-426614174000".utf8)) == uuid)
        #expect(try Serde<UUID>.uuid.deserialize(Array("123E4567-E89B-12D3-A456-426614174000".utf8)) == uuid)
        #expect(throws: SerdeError.self) { try Serde<UUID>.uuid.deserialize(Array("not-a-uuid".utf8)) }
    }

    @Test func rawBytesPassThrough() throws {
        #expect(try bytes(.bytes, [0, 1, 0xFF]) == [0, 1, 0xFF])
        #expect(try Serde<[UInt8]>.bytes.deserialize([9, 8]) == [9, 8])
        let buffer = ByteBuffer(bytes: [7, 7, 7])
        #expect(try bytes(.byteBuffer, buffer) == [7, 7, 7])
        #expect(try Serde<ByteBuffer>.byteBuffer.deserialize(buffer) == buffer)
    }

    struct Order: Codable, Equatable {
        var id: Int
        var item: String
    }

    @Test func codableIsJSONWithSortedKeys() throws {
        #expect(try bytes(.json(Order.self), Order(id: 7, item: "tea")) == Array(#"{"id":7,"item":"tea"}"#.utf8))
        let decoded = try Serde<Order>.json().deserialize(Array(#"{"item":"cake","id":3}"#.utf8))
        #expect(decoded == Order(id: 3, item: "cake"))
        #expect(throws: SerdeError.self) { try Serde<Order>.json().deserialize(Array("{".utf8)) }
    }

    @Test func optionalMapsNilToNullBytes() throws {
        let serde = Serde<String?>.optional(.string)
        #expect(try serde.serialize(nil) == nil)
        #expect(try bytes(serde, "a") == [0x61])
        #expect(try serde.deserialize(nil as ByteBuffer?) == nil)
        #expect(try serde.deserialize([0x62]) == "b")
        #expect(serde.acceptsNull)
        #expect(!Serde<String>.string.acceptsNull)
    }

    @Test func nonOptionalSerdesRejectNull() {
        #expect(throws: SerdeError.unexpectedNull(type: "String")) { try Serde<String>.string.deserialize(nil as ByteBuffer?) }
        #expect(throws: SerdeError.unexpectedNull(type: "Int64")) { try Serde<Int64>.int64.deserialize(nil as ByteBuffer?) }
    }

    @Test func fixedWidthSerdesRejectOtherLengths() {
        #expect(throws: SerdeError.wrongSize(type: "Int64", expected: 8, actual: 3)) {
            try Serde<Int64>.int64.deserialize([1, 2, 3])
        }
        #expect(throws: SerdeError.wrongSize(type: "Int32", expected: 4, actual: 5)) {
            try Serde<Int32>.int32.deserialize([1, 2, 3, 4, 5])
        }
    }

    @Test func customClosures() throws {
        // A toy format: the value's decimal digits reversed.
        let reversed = Serde<Int>.custom(
            serialize: { Array(String(String($0).reversed()).utf8) },
            deserialize: { bytes in
                guard let value = Int(String(String(decoding: bytes, as: UTF8.self).reversed())) else {
                    throw SerdeError.invalidEncoding(type: "Int", reason: "not digits")
                }
                return value
            }
        )
        #expect(try bytes(reversed, 123) == [0x33, 0x32, 0x31])
        #expect(try reversed.deserialize([0x35, 0x34]) == 45)
    }

    @Test func mappedSerde() throws {
        struct Celsius: Equatable { var degrees: Double }
        let serde = Serde<Double>.double.map(to: { Celsius(degrees: $0) }, from: { $0.degrees })
        #expect(try bytes(serde, Celsius(degrees: 1.0)) == [0x3F, 0xF0, 0, 0, 0, 0, 0, 0])
        #expect(try serde.deserialize([0x3F, 0xF0, 0, 0, 0, 0, 0, 0]) == Celsius(degrees: 1.0))
    }

    @Test func inferredSerdesFollowTheType() throws {
        #expect(try bytes(try #require(Serde<Int64>.inferred()), 1) == [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(try bytes(try #require(Serde<String>.inferred()), "é") == [0xC3, 0xA9])
        let optional = try #require(Serde<Int32?>.inferred())
        #expect(try optional.serialize(nil) == nil)
        #expect(try bytes(optional, 2) == [0, 0, 0, 2])
        #expect(try bytes(try #require(Serde<Order>.inferred()), Order(id: 1, item: "x")) == Array(#"{"id":1,"item":"x"}"#.utf8))
        final class Opaque {}
        #expect(Serde<Opaque>.inferred() == nil)
    }

    @Test func changeSerdeCarriesBothValues() throws {
        let serde = Serde<Change<String>>.change(.string)
        // flags 3 (new and old), new length 2, "ab", then "c" to the end.
        #expect(try bytes(serde, Change(newValue: "ab", oldValue: "c")) == [3, 0, 0, 0, 2, 0x61, 0x62, 0x63])
        #expect(try bytes(serde, Change(newValue: nil, oldValue: "c")) == [2, 0x63])
        #expect(try bytes(serde, Change(newValue: "", oldValue: nil)) == [1, 0, 0, 0, 0])
        #expect(try serde.deserialize([3, 0, 0, 0, 1, 0x78, 0x79, 0x7A]) == Change(newValue: "x", oldValue: "yz"))
        #expect(throws: SerdeError.self) { try serde.deserialize([1, 0, 0, 0, 9, 0x78]) }
    }
}

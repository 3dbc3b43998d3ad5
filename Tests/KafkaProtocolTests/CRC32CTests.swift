import NIOCore
import Testing
@testable import KafkaProtocol

@Suite struct CRC32CTests {
    /// The check value of CRC-32C ("123456789") and the RFC 3720 (iSCSI) appendix B.4 vectors.
    static let vectors: [([UInt8], UInt32)] = [
        (Array("123456789".utf8), 0xE306_9283),
        ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ((0..<32).map { UInt8($0) }, 0x46DD_794E),
        ((0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ([], 0),
    ]

    @Test(arguments: [CRC32C.Implementation.automatic, .hardware, .software])
    func knownVectors(implementation: CRC32C.Implementation) {
        for (bytes, expected) in Self.vectors {
            let value = bytes.withUnsafeBytes { CRC32C.checksum($0, implementation: implementation) }
            #expect(value == expected, "\(bytes.count) bytes")
        }
    }

    @Test func chainingEqualsOneShot() {
        let bytes = Array("123456789".utf8)
        let first = CRC32C.checksum(bytes[..<4])
        #expect(CRC32C.checksum(bytes[4...], seed: first) == 0xE306_9283)
    }

    /// The three-stream hardware path (with its shift tables) must agree with the table
    /// implementation at every size class and alignment, including the 24 KiB and 768-byte
    /// stream boundaries.
    @Test func hardwareMatchesTableOnRandomSizesAndAlignments() {
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        let data = (0..<(200_000 + 64)).map { _ in UInt8(truncatingIfNeeded: next()) }
        var sizes = [0, 1, 7, 8, 9, 255, 256, 767, 768, 769, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 2 * 3 * 8192 + 768 + 13]
        for _ in 0..<300 { sizes.append(Int(next() % 200_000)) }
        data.withUnsafeBytes { raw in
            for size in sizes {
                let offset = Int(next() % 64)
                let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + size)])
                let seed = UInt32(truncatingIfNeeded: next())
                #expect(CRC32C.checksum(slice, seed: seed, implementation: .hardware)
                        == CRC32C.checksum(slice, seed: seed, implementation: .software), "size \(size) offset \(offset)")
            }
        }
    }

    @Test func byteBufferRange() throws {
        let buffer = ByteBuffer(bytes: Array("xx123456789yy".utf8))
        #expect(try CRC32C.checksum(buffer, at: 2, length: 9) == 0xE306_9283)
        #expect(throws: KafkaProtocolError.self) { try CRC32C.checksum(buffer, at: 10, length: 9) }
    }
}

import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fast seeded hash of key bytes, and byte equality, for the record cache's index.
///
/// The cache looks a key up for every read and write of a store: `Hasher` (SipHash) over a
/// `ByteBuffer` costs more there than the rest of the lookup. Keys are short; this mixes eight
/// bytes at a time with multiply-xorshift steps. The seed is random per cache, so which keys
/// collide cannot be known in advance.
enum KeyHash {
    static func hash(_ key: ByteBuffer, seed: UInt64) -> UInt64 {
        key.withUnsafeReadableBytes { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let count = bytes.count
        var h = seed ^ (UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        while offset + 8 <= count {
            h = mix(h ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            h = mix(h ^ tail)
        }
        return mix(h ^ (h >> 32))
    }

    @inline(__always)
    private static func mix(_ value: UInt64) -> UInt64 {
        var h = value &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        h = h &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 29)
    }

    /// Whether two buffers hold the same readable bytes.
    @inline(__always)
    static func equal(_ a: ByteBuffer, _ b: ByteBuffer) -> Bool {
        let count = a.readableBytes
        guard count == b.readableBytes else { return false }
        guard count > 0 else { return true }
        return a.withUnsafeReadableBytes { pa in
            b.withUnsafeReadableBytes { pb in memcmp(pa.baseAddress!, pb.baseAddress!, count) == 0 }
        }
    }
}

import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the record cache's index knows of a key: a fast seeded hash of its bytes, its length
/// and its first 16 bytes.
///
/// The cache looks a key up for every read and write of a store. `Hasher` (SipHash) over a
/// `ByteBuffer` costs more there than the rest of the lookup, and comparing a candidate's bytes
/// means reaching into its buffer's storage. Keys are mostly short: a key of at most 16 bytes is
/// equal to another exactly when their digests are, so a lookup compares two small structs and
/// touches no key buffer. The hash mixes eight bytes at a time with multiply-xorshift steps;
/// its seed is random per cache, so which keys collide cannot be known in advance.
struct KeyDigest: Equatable {
    var hash: UInt64
    var length: Int
    /// The first 16 bytes (little-endian words), zero-padded.
    var head: UInt64
    var tail: UInt64

    /// Whether the digest holds the whole key, so that equal digests mean equal keys.
    var isComplete: Bool { length <= 16 }

    init(_ key: ByteBuffer, seed: UInt64) {
        self = key.withUnsafeReadableBytes { KeyDigest(UnsafeRawBufferPointer($0), seed: seed) }
    }

    @inline(__always)
    init(_ bytes: UnsafeRawBufferPointer, seed: UInt64) {
        let count = bytes.count
        var hash = seed ^ (UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15)
        var head: UInt64 = 0
        var tail: UInt64 = 0
        var offset = 0
        var word = 0
        while offset < count {
            let value: UInt64
            if count - offset >= 8 {
                value = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                offset += 8
            } else {
                var partial: UInt64 = 0
                var shift: UInt64 = 0
                while offset < count {
                    partial |= UInt64(bytes[offset]) << shift
                    shift += 8
                    offset += 1
                }
                value = partial
            }
            if word == 0 { head = value } else if word == 1 { tail = value }
            word += 1
            hash = Self.mix(hash ^ value)
        }
        self.hash = Self.mix(hash ^ (hash >> 32))
        self.length = count
        self.head = head
        self.tail = tail
    }

    @inline(__always)
    private static func mix(_ value: UInt64) -> UInt64 {
        var h = value &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        h = h &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 29)
    }

    /// Whether two buffers hold the same readable bytes (for keys longer than a digest holds).
    static func equalBytes(_ a: ByteBuffer, _ b: ByteBuffer) -> Bool {
        let count = a.readableBytes
        guard count == b.readableBytes else { return false }
        guard count > 0 else { return true }
        return a.withUnsafeReadableBytes { pa in
            b.withUnsafeReadableBytes { pb in memcmp(pa.baseAddress!, pb.baseAddress!, count) == 0 }
        }
    }
}

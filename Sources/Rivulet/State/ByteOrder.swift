import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The order of store keys: lexicographic over unsigned bytes, shorter first on a tie (RocksDB's
/// bytewise comparator and Java's `Bytes` comparator agree on it).
public enum ByteOrder {
    /// Negative, zero or positive as `a` sorts before, with or after `b`.
    @inlinable
    public static func compare(_ a: ByteBuffer, _ b: ByteBuffer) -> Int {
        a.withUnsafeReadableBytes { pa in
            b.withUnsafeReadableBytes { pb in
                compare(UnsafeRawBufferPointer(pa), UnsafeRawBufferPointer(pb))
            }
        }
    }

    /// The same order over raw memory (RocksDB iterators hand out pointers).
    @inlinable
    public static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = min(a.count, b.count)
        if common > 0, let ba = a.baseAddress, let bb = b.baseAddress {
            let result = memcmp(ba, bb, common)
            if result != 0 { return Int(result) }
        }
        return a.count - b.count
    }

    @inlinable
    /// Whether `a` sorts before `b`.
    public static func less(_ a: ByteBuffer, _ b: ByteBuffer) -> Bool { compare(a, b) < 0 }

    /// Whether `key` starts with the bytes of `prefix`.
    public static func hasPrefix(_ key: ByteBuffer, _ prefix: ByteBuffer) -> Bool {
        guard key.readableBytes >= prefix.readableBytes else { return false }
        return key.withUnsafeReadableBytes { pk in
            prefix.withUnsafeReadableBytes { pp in
                pp.isEmpty || memcmp(pk.baseAddress!, pp.baseAddress!, pp.count) == 0
            }
        }
    }

    /// An inclusive upper bound covering every key that starts with `prefix`: the prefix with its
    /// last byte below 0xFF incremented and what follows dropped. `nil` when there is none (an
    /// empty prefix, or all 0xFF), meaning "to the end". The bound itself lacks the prefix, so
    /// callers filter it out.
    public static func prefixUpperBound(_ prefix: ByteBuffer) -> ByteBuffer? {
        var bytes = Array(prefix.readableBytesView)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return ByteBuffer(bytes: bytes)
            }
            bytes.removeLast()
        }
        return nil
    }
}

/// xxHash32, only needed to recompute an LZ4 frame's header checksum: magic-0 Kafka
/// message sets carry the checksum that Kafka 0.8/0.9 computed over the wrong bytes,
/// and liblz4 has no switch to ignore it.
enum XXHash32 {
    private static let prime1: UInt32 = 2_654_435_761
    private static let prime2: UInt32 = 2_246_822_519
    private static let prime3: UInt32 = 3_266_489_917
    private static let prime4: UInt32 = 668_265_263
    private static let prime5: UInt32 = 374_761_393

    private static func load32(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
        UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
    }

    private static func round(_ accumulator: UInt32, _ lane: UInt32) -> UInt32 {
        (accumulator &+ lane &* prime2).rotatedLeft(13) &* prime1
    }

    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var index = 0
        var h: UInt32
        if bytes.count >= 16 {
            var v1 = seed &+ prime1 &+ prime2, v2 = seed &+ prime2, v3 = seed, v4 = seed &- prime1
            while bytes.count - index >= 16 {
                v1 = round(v1, load32(bytes, index))
                v2 = round(v2, load32(bytes, index + 4))
                v3 = round(v3, load32(bytes, index + 8))
                v4 = round(v4, load32(bytes, index + 12))
                index += 16
            }
            h = v1.rotatedLeft(1) &+ v2.rotatedLeft(7) &+ v3.rotatedLeft(12) &+ v4.rotatedLeft(18)
        } else {
            h = seed &+ prime5
        }
        h = h &+ UInt32(truncatingIfNeeded: bytes.count)
        while bytes.count - index >= 4 {
            h = (h &+ load32(bytes, index) &* prime3).rotatedLeft(17) &* prime4
            index += 4
        }
        while index < bytes.count {
            h = (h &+ UInt32(bytes[index]) &* prime5).rotatedLeft(11) &* prime1
            index += 1
        }
        h ^= h >> 15
        h = h &* prime2
        h ^= h >> 13
        h = h &* prime3
        h ^= h >> 16
        return h
    }
}

extension UInt32 {
    fileprivate func rotatedLeft(_ count: UInt32) -> UInt32 {
        (self << count) | (self >> (32 - count))
    }
}

/// Structure-unaware mutations of a valid frame: the kinds of damage that reach a
/// decoder from a broken peer or a hostile one.
enum Mutator {
    static let interestingInt32: [Int32] = [0, 1, -1, -2, 2, 7, 13, 14, 21, 48, 49, 61, 127, 128, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 1 << 20, 64 << 20, Int32.max, Int32.min, Int32.max - 1]
    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x02, 0x81]

    /// Applies one to three mutations. `lengthFields` are offsets of known length or
    /// count fields (for example 8 and 57 in a record batch), aimed at more often.
    static func mutate(_ input: [UInt8], random: inout FuzzRandom, lengthFields: [Int] = []) -> [UInt8] {
        var bytes = input
        for _ in 0..<random.int(1...3) {
            mutateOnce(&bytes, random: &random, lengthFields: lengthFields)
        }
        return bytes
    }

    private static func mutateOnce(_ bytes: inout [UInt8], random: inout FuzzRandom, lengthFields: [Int]) {
        switch random.int(0...10) {
        case 0, 1: // bit flips
            guard !bytes.isEmpty else { return }
            for _ in 0..<random.int(1...4) {
                bytes[random.index(bytes.count)] ^= UInt8(1) << UInt8(random.int(0...7))
            }
        case 2: // truncation
            bytes.removeLast(bytes.isEmpty ? 0 : random.int(1...bytes.count))
        case 3: // insert bytes
            let position = random.int(0...bytes.count)
            bytes.insert(contentsOf: random.bytes(random.int(1...8)), at: position)
        case 4: // delete a range
            guard !bytes.isEmpty else { return }
            let start = random.index(bytes.count)
            bytes.removeSubrange(start..<min(bytes.count, start + random.int(1...8)))
        case 5, 6: // corrupt a length field (a known one, or any 4 bytes)
            guard bytes.count >= 4 else { return }
            let known = lengthFields.filter { $0 + 4 <= bytes.count }
            let position = !known.isEmpty && random.chance(0.7) ? random.pick(known) : random.index(bytes.count - 3)
            var value = random.pick(interestingInt32)
            if random.chance(0.3) {
                let current = Int32(bitPattern: UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16
                                    | UInt32(bytes[position + 2]) << 8 | UInt32(bytes[position + 3]))
                value = current &+ Int32(random.int(-8...8))
            }
            let bits = UInt32(bitPattern: value)
            for i in 0..<4 { bytes[position + i] = UInt8(truncatingIfNeeded: bits >> (24 - 8 * UInt32(i))) }
        case 7: // random bytes over a range
            guard !bytes.isEmpty else { return }
            let start = random.index(bytes.count)
            for i in start..<min(bytes.count, start + random.int(1...16)) { bytes[i] = UInt8(truncatingIfNeeded: random.next()) }
        case 8: // interesting byte (varint continuation bits, sign bits)
            guard !bytes.isEmpty else { return }
            for _ in 0..<random.int(1...3) { bytes[random.index(bytes.count)] = random.pick(interestingBytes) }
        case 9: // duplicate a chunk at the end (a second, damaged batch)
            guard !bytes.isEmpty else { return }
            let start = random.index(bytes.count)
            bytes.append(contentsOf: bytes[start..<min(bytes.count, start + random.int(1...64))])
        default: // an overlong varint run
            guard !bytes.isEmpty else { return }
            let start = random.index(bytes.count)
            for i in start..<min(bytes.count, start + random.int(2...11)) { bytes[i] = 0xFF }
        }
    }
}

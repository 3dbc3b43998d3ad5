import KafkaProtocol
import NIOCore

/// Feeds every message type in `KafkaMessageRegistry.allMessageTypes`, at every version
/// it defines, with random bytes and with mutations of its own earlier output: a
/// successful decode is re-encoded and the encoding kept as a seed for later mutations.
struct MessageFuzzer {
    private let cases: [(type: any KafkaMessage.Type, version: Int16)]
    private var pools: [[[UInt8]]]
    private(set) var decoded = 0
    private(set) var roundTripMismatches = 0

    init(types: [any KafkaMessage.Type]) {
        self.cases = types.flatMap { type in type.validVersions.map { (type: type, version: $0) } }
        self.pools = Array(repeating: [], count: self.cases.count)
    }

    var caseCount: Int { self.cases.count }

    /// One decode attempt: whether it decoded, or nil when there is nothing to fuzz.
    mutating func run(_ random: inout FuzzRandom) -> Bool? {
        guard !self.cases.isEmpty else { return nil }
        let index = random.index(self.cases.count)
        let (type, version) = self.cases[index]
        let input: [UInt8]
        if !self.pools[index].isEmpty && random.chance(0.7) {
            input = Mutator.mutate(random.pick(self.pools[index]), random: &random)
        } else if random.chance(0.5) {
            // Zeros decode as empty strings, arrays and zero numbers in most schemas: a cheap valid start.
            input = [UInt8](repeating: 0, count: random.int(0...64))
        } else {
            input = random.bytes(random.int(0...256))
        }
        var buffer = ByteBuffer(bytes: input)
        guard let value = try? type.decode(from: &buffer, version: version) else { return false }
        self.decoded += 1
        var encoded = ByteBuffer()
        guard (try? value.encode(into: &encoded, version: version)) != nil else { return true }
        if self.pools[index].count < 8 {
            self.pools[index].append(Array(encoded.readableBytesView))
        } else {
            self.pools[index][random.index(8)] = Array(encoded.readableBytesView)
        }
        // A re-encoding should decode to the same value; a mismatch is counted (not fatal:
        // NaN doubles and similar make equality imperfect) and shown in the summary.
        var again = encoded
        if let reread = try? type.decode(from: &again, version: version), !Self.equal(value, reread) {
            self.roundTripMismatches += 1
        }
        return true
    }

    private static func equal(_ a: any KafkaMessage, _ b: any KafkaMessage) -> Bool {
        func open<T: KafkaMessage>(_ a: T) -> Bool { (b as? T) == a }
        return open(a)
    }
}

import NIOCore
import Synchronization

/// Chooses the partition of a record that names none.
///
/// The default, `.murmur2`, places a keyed record where the Java client and librdkafka's
/// `murmur2_random` place it, so the same key lands in the same partition from any client.
public struct Partitioner: Sendable {
    /// What a partitioner sees of a record.
    public struct Input: Sendable {
        public var topic: String
        public var key: ByteBuffer?
        public var partitionCount: Int32
        /// Partitions with a leader right now; sticky and round-robin prefer these.
        public var availablePartitions: [Int32]

        public init(topic: String, key: ByteBuffer?, partitionCount: Int32, availablePartitions: [Int32] = []) {
            self.topic = topic
            self.key = key
            self.partitionCount = partitionCount
            self.availablePartitions = availablePartitions
        }
    }

    /// Partitioners the producer runs inline, under the lock it already holds for the record,
    /// instead of through the closure: the sticky choice then lives with the topic's queues.
    enum Builtin: Sendable {
        /// Keyed records by murmur2, keyless sticky.
        case murmur2
        /// Every record sticky.
        case sticky
    }

    let choose: @Sendable (Input) -> Int32
    /// Called when a batch for the sticky partition is sent, so the next keyless records move on.
    let batchSent: (@Sendable (_ topic: String, _ partition: Int32) -> Void)?
    let builtin: Builtin?

    public init(_ choose: @escaping @Sendable (Input) -> Int32) {
        self.choose = choose
        self.batchSent = nil
        self.builtin = nil
    }

    init(choose: @escaping @Sendable (Input) -> Int32, batchSent: (@Sendable (String, Int32) -> Void)?, builtin: Builtin? = nil) {
        self.choose = choose
        self.batchSent = batchSent
        self.builtin = builtin
    }

    public func partition(_ input: Input) -> Int32 { choose(input) }

    /// Keyed records by murmur2 (Java's and librdkafka's `murmur2_random`); keyless records sticky (KIP-480).
    public static var murmur2: Partitioner {
        let sticky = StickyChoice()
        return Partitioner(choose: { input in
            guard let key = input.key else { return sticky.partition(for: input) }
            return Int32(Murmur2.hash(key) & 0x7fff_ffff) % input.partitionCount
        }, batchSent: { topic, partition in sticky.batchSent(topic: topic, partition: partition) }, builtin: .murmur2)
    }

    /// Keyed records by 32-bit FNV-1a of the key, as sarama's default hash partitioner; keyless at random.
    public static var fnv1a: Partitioner {
        Partitioner { input in
            guard let key = input.key else { return Int32.random(in: 0..<input.partitionCount) }
            let hash = Int32(bitPattern: FNV1a.hash32(key))
            let partition = hash % input.partitionCount
            return partition < 0 ? -partition : partition
        }
    }

    /// Every record on the partition after the previous one's, keyed or not.
    public static var roundRobin: Partitioner {
        let counter = Mutex<[String: Int]>([:])
        return Partitioner { input in
            let n = counter.withLock { counters -> Int in
                defer { counters[input.topic, default: 0] &+= 1 }
                return counters[input.topic, default: 0]
            }
            let candidates = input.availablePartitions.isEmpty ? Array(0..<input.partitionCount) : input.availablePartitions
            return candidates[n % candidates.count]
        }
    }

    /// Every record on a random partition.
    public static var random: Partitioner {
        Partitioner { input in Int32.random(in: 0..<input.partitionCount) }
    }

    /// Keyless and keyed records alike stick to one partition until a batch is sent (KIP-480).
    public static var sticky: Partitioner {
        let sticky = StickyChoice()
        return Partitioner(choose: { sticky.partition(for: $0) }, batchSent: { sticky.batchSent(topic: $0, partition: $1) }, builtin: .sticky)
    }

    /// Records must name their partition; any that does not goes to partition 0.
    public static var manual: Partitioner {
        Partitioner { _ in 0 }
    }
}

/// The sticky partition per topic: kept until a batch for it is sent, then a new random one is chosen.
final class StickyChoice: Sendable {
    private let current = Mutex<[String: Int32]>([:])

    func partition(for input: Partitioner.Input) -> Int32 {
        current.withLock { current in
            if let chosen = current[input.topic], chosen < input.partitionCount { return chosen }
            let candidates = input.availablePartitions.isEmpty ? Array(0..<input.partitionCount) : input.availablePartitions
            let chosen = candidates.randomElement() ?? 0
            current[input.topic] = chosen
            return chosen
        }
    }

    func batchSent(topic: String, partition: Int32) {
        current.withLock { current in
            if current[topic] == partition { current[topic] = nil }
        }
    }
}

/// MurmurHash2, 32-bit, with the seed the Kafka clients use (0x9747b28c).
public enum Murmur2 {
    public static func hash(_ key: ByteBuffer) -> UInt32 {
        key.withUnsafeReadableBytes { hash(UnsafeRawBufferPointer($0)) }
    }

    public static func hash(_ data: UnsafeRawBufferPointer) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let length = data.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        var i = 0
        while i + 4 <= length {
            var k = UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
            i += 4
        }
        let rest = length - i
        if rest >= 3 { h ^= UInt32(data[i + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(data[i + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(data[i])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}

/// 32-bit FNV-1a.
public enum FNV1a {
    public static func hash32(_ key: ByteBuffer) -> UInt32 {
        key.withUnsafeReadableBytes { bytes in
            var h: UInt32 = 0x811c_9dc5
            for byte in bytes {
                h ^= UInt32(byte)
                h = h &* 0x0100_0193
            }
            return h
        }
    }
}

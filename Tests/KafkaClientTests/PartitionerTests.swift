import NIOCore
import Testing
@testable import KafkaClient

@Suite struct PartitionerTests {
    private func input(_ key: [UInt8]?, count: Int32, available: [Int32] = []) -> Partitioner.Input {
        Partitioner.Input(topic: "t", key: key.map { ByteBuffer(bytes: $0) }, partitionCount: count, availablePartitions: available)
    }

    @Test func murmur2MatchesKafkaPython() {
        for vector in murmur2Vectors {
            let hash = vector.key.withUnsafeBytes { Murmur2.hash($0) }
            #expect(hash == vector.hash, "murmur2 of \(vector.key)")
            #expect(Murmur2.hash(ByteBuffer(bytes: vector.key)) == vector.hash)
        }
    }

    @Test func murmur2PartitionsMatchJavaPlacement() {
        let partitioner = Partitioner.murmur2
        for vector in murmur2Vectors {
            for (count, expected) in zip([Int32(1), 3, 6, 7, 100], vector.partitions) {
                #expect(partitioner.partition(input(vector.key, count: count)) == expected, "key \(vector.key), \(count) partitions")
            }
        }
    }

    @Test func fnv1aMatchesDefinitionAndSaramaPlacement() {
        let partitioner = Partitioner.fnv1a
        for vector in fnv1aVectors {
            #expect(FNV1a.hash32(ByteBuffer(bytes: vector.key)) == vector.hash, "fnv1a of \(vector.key)")
            for (count, expected) in zip([Int32(1), 3, 6, 7, 100], vector.partitions) {
                #expect(partitioner.partition(input(vector.key, count: count)) == expected)
            }
        }
    }

    @Test func keylessRecordsStickUntilABatchIsSent() throws {
        let partitioner = Partitioner.murmur2
        let first = partitioner.partition(input(nil, count: 8))
        for _ in 0..<100 { #expect(partitioner.partition(input(nil, count: 8)) == first) }
        // Another partition's batch does not move the sticky choice.
        partitioner.batchSent?("t", (first + 1) % 8)
        #expect(partitioner.partition(input(nil, count: 8)) == first)
        // Its own batch does: over many rounds more than one partition gets chosen.
        var seen: Set<Int32> = [first]
        for _ in 0..<200 {
            let current = partitioner.partition(input(nil, count: 8))
            seen.insert(current)
            partitioner.batchSent?("t", current)
        }
        #expect(seen.count > 1)
        #expect(seen.allSatisfy { (0..<8).contains($0) })
    }

    @Test func stickyPrefersAvailablePartitions() {
        let partitioner = Partitioner.sticky
        for _ in 0..<50 {
            let chosen = partitioner.partition(input([1, 2, 3], count: 6, available: [2, 5]))
            #expect(chosen == 2 || chosen == 5)
            partitioner.batchSent?("t", chosen)
        }
    }

    @Test func roundRobinCyclesThroughAvailablePartitions() {
        let partitioner = Partitioner.roundRobin
        let chosen = (0..<6).map { _ in partitioner.partition(input([7], count: 4, available: [0, 1, 3])) }
        #expect(chosen == [0, 1, 3, 0, 1, 3])
        let fresh = Partitioner.roundRobin
        let all = (0..<4).map { _ in fresh.partition(input(nil, count: 4)) }
        #expect(all == [0, 1, 2, 3])
    }

    @Test func randomStaysInRange() {
        let partitioner = Partitioner.random
        let chosen = Set((0..<500).map { _ in partitioner.partition(input([1], count: 5)) })
        #expect(chosen.isSubset(of: [0, 1, 2, 3, 4]))
        #expect(chosen.count > 1)
    }

    @Test func customClosureDecides() {
        let partitioner = Partitioner { input in input.key.map { Int32($0.readableBytes) % input.partitionCount } ?? 0 }
        #expect(partitioner.partition(input([1, 2, 3, 4, 5], count: 3)) == 2)
        #expect(partitioner.partition(input(nil, count: 3)) == 0)
        #expect(Partitioner.manual.partition(input([9], count: 3)) == 0)
    }
}

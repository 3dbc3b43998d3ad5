import NIOCore
@testable import Rivulet
import Testing

@Suite struct SortedByteMapTests {
    /// Small chunks force many splits and chunk removals; a sorted dictionary is the model.
    @Test func matchesASortedModelThroughSplitsAndRemovals() {
        var map = SortedByteMap<Int>(chunkCapacity: 4)
        var model: [[UInt8]: Int] = [:]
        var generator = SplitMix64(seed: 7)
        for step in 0..<5000 {
            let key = [UInt8(generator.next() % 40), UInt8(generator.next() % 3)]
            if generator.next() % 3 == 0 {
                #expect(map.remove(buffer(key)) == model.removeValue(forKey: key))
            } else {
                #expect(map.set(buffer(key), step) == model.updateValue(step, forKey: key))
            }
        }
        #expect(map.count == model.count)
        let expected = model.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        #expect(map.entries(from: nil, to: nil).map { Array($0.key.readableBytesView) } == expected.map(\.key))
        #expect(map.entries(from: nil, to: nil).map(\.value) == expected.map(\.value))
        for (key, value) in model { #expect(map[buffer(key)] == value) }
        let bounded = map.entries(from: buffer([10]), to: buffer([20, 1])).map { Array($0.key.readableBytesView) }
        #expect(bounded == expected.map(\.key).filter { !$0.lexicographicallyPrecedes([10]) && !([20, 1] as [UInt8]).lexicographicallyPrecedes($0) })
    }

    @Test func compactedCopiesOnlySmallViewsOfLargeBuffers() {
        var large = ByteBuffer(repeating: 1, count: 4096)
        let slice = large.readSlice(length: 3)!
        #expect(slice.storageCapacity >= 4096)
        #expect(slice.compacted().storageCapacity < 4096)
        #expect(slice.compacted() == slice)
        let small = ByteBuffer(bytes: [1, 2, 3])
        #expect(small.compacted().storageCapacity == small.storageCapacity)
    }
}

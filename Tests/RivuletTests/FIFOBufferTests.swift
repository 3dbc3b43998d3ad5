@testable import Rivulet
import Synchronization
import Testing

@Suite struct FIFOBufferTests {
    /// Counts live instances, to see that the buffer neither leaks nor frees what it holds.
    final class Tracked {
        static let live = Atomic<Int>(0)
        let value: Int
        init(_ value: Int) {
            self.value = value
            Self.live.add(1, ordering: .relaxed)
        }
        deinit { Self.live.subtract(1, ordering: .relaxed) }
    }

    @Test func elementsLeaveInTheOrderTheyCameThroughGrowthAndWrapAround() {
        let buffer = FIFOBuffer<Int>(initialCapacity: 4)
        var expected: [Int] = []
        var taken: [Int] = []
        var next = 0
        // Interleave appends and pops so the head moves around the ring while it grows.
        for round in 1...50 {
            for _ in 0..<(round % 7 + 1) {
                buffer.append(next)
                expected.append(next)
                next += 1
            }
            for _ in 0..<(round % 5) {
                if let value = buffer.popFirst() { taken.append(value) }
            }
            #expect(buffer.count == expected.count - taken.count)
            #expect(buffer.withFirst { $0 } == (taken.count < expected.count ? expected[taken.count] : nil))
        }
        while let value = buffer.popFirst() { taken.append(value) }
        #expect(taken == expected)
        #expect(buffer.isEmpty)
        #expect(buffer.popFirst() == nil)
    }

    @Test func elementsAreReleasedWhenTakenRemovedOrDroppedWithTheBuffer() {
        let before = Tracked.live.load(ordering: .relaxed)
        do {
            let buffer = FIFOBuffer<Tracked>(initialCapacity: 2)
            for value in 0..<100 { buffer.append(Tracked(value)) }
            #expect(Tracked.live.load(ordering: .relaxed) == before + 100)
            for value in 0..<30 { #expect(buffer.popFirst()?.value == value) }
            #expect(Tracked.live.load(ordering: .relaxed) == before + 70)
            buffer.removeAll()
            #expect(Tracked.live.load(ordering: .relaxed) == before)
            for value in 0..<10 { buffer.append(Tracked(value)) }
            #expect(buffer.withFirst { $0.value } == 0)
        }
        #expect(Tracked.live.load(ordering: .relaxed) == before)
    }

    /// Its own live count: tests run in parallel, and `Tracked`'s is another test's.
    final class Slotted {
        static let live = Atomic<Int>(0)
        let value: Int
        init(_ value: Int) {
            self.value = value
            Self.live.add(1, ordering: .relaxed)
        }
        deinit { Self.live.subtract(1, ordering: .relaxed) }
    }

    @Test func elementsBuiltInTheirSlotsLeaveInOrderAndAnUndoneOneIsReleased() {
        do {
            let buffer = FIFOBuffer<Slotted>(initialCapacity: 2)
            var expected: [Int] = []
            var taken: [Int] = []
            // Appends in place with every third one undone, interleaved with takes, through
            // growth and wrap-around.
            for value in 0..<60 {
                buffer.appendUninitialized().initialize(to: Slotted(value))
                if value % 3 == 2 {
                    buffer.removeLast()
                } else {
                    expected.append(value)
                }
                if value % 4 == 3 { taken.append(buffer.removeFirst().value) }
                #expect(Slotted.live.load(ordering: .relaxed) == expected.count - taken.count)
            }
            while !buffer.isEmpty { taken.append(buffer.removeFirst().value) }
            #expect(taken == expected)
            #expect(Slotted.live.load(ordering: .relaxed) == 0)
            for value in 0..<5 { buffer.appendUninitialized().initialize(to: Slotted(value)) }
        }
        #expect(Slotted.live.load(ordering: .relaxed) == 0)
    }
}

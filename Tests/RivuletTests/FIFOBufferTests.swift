@testable import Rivulet
import Synchronization
import Testing

@Suite struct FIFOBufferTests {
    /// Counts live instances into its test's own counter (tests run in parallel), to see that
    /// the buffer neither leaks nor frees what it holds.
    final class Tracked {
        let value: Int
        let live: LiveCount
        init(_ value: Int, _ live: LiveCount) {
            self.value = value
            self.live = live
            live.count.add(1, ordering: .relaxed)
        }
        deinit { live.count.subtract(1, ordering: .relaxed) }
    }

    final class LiveCount: Sendable {
        let count = Atomic<Int>(0)
        var now: Int { count.load(ordering: .relaxed) }
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
        let live = LiveCount()
        do {
            let buffer = FIFOBuffer<Tracked>(initialCapacity: 2)
            for value in 0..<100 { buffer.append(Tracked(value, live)) }
            #expect(live.now == 100)
            for value in 0..<30 { #expect(buffer.popFirst()?.value == value) }
            #expect(live.now == 70)
            buffer.removeAll()
            #expect(live.now == 0)
            for value in 0..<10 { buffer.append(Tracked(value, live)) }
            #expect(buffer.withFirst { $0.value } == 0)
        }
        #expect(live.now == 0)
    }

    @Test func elementsBuiltInTheirSlotsLeaveInOrderAndAnUndoneOneIsReleased() {
        let live = LiveCount()
        do {
            let buffer = FIFOBuffer<Tracked>(initialCapacity: 2)
            var expected: [Int] = []
            var taken: [Int] = []
            // Appends in place with every third one undone, interleaved with takes, through
            // growth and wrap-around.
            for value in 0..<60 {
                buffer.appendUninitialized().initialize(to: Tracked(value, live))
                if value % 3 == 2 {
                    buffer.removeLast()
                } else {
                    expected.append(value)
                }
                if value % 4 == 3 { taken.append(buffer.removeFirst().value) }
                #expect(live.now == expected.count - taken.count)
            }
            while !buffer.isEmpty { taken.append(buffer.removeFirst().value) }
            #expect(taken == expected)
            #expect(live.now == 0)
            for value in 0..<5 { buffer.appendUninitialized().initialize(to: Tracked(value, live)) }
        }
        #expect(live.now == 0)
    }
}

import Rivulet
import RivuletTestDriver
import Testing

/// Forwards a record from each punctuator: key names the clock, value is the punctuation time.
final class Ticker: Processor {
    typealias KeyIn = String
    typealias ValueIn = String
    typealias KeyOut = String
    typealias ValueOut = String

    private var context: ProcessorContext<String, String>!

    func initialize(context: ProcessorContext<String, String>) throws {
        self.context = context
        context.schedule(interval: .milliseconds(10), type: .streamTime) { [unowned self] time in
            let origin = self.context.recordMetadata == nil ? "" : "with metadata"
            try self.context.forward(StreamRecord(key: "stream", value: "\(time)\(origin)", timestamp: time))
        }
        context.schedule(interval: .seconds(1), type: .wallClockTime) { [unowned self] time in
            try self.context.forward(StreamRecord(key: "wall", value: "\(time)", timestamp: time))
        }
    }

    func process(_ record: StreamRecord<String, String>) throws {}
}

@Suite struct PunctuationTests {
    private func driver() throws -> TopologyTestDriver {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("ticker", { Ticker() }, parents: "source")
        try topology.addSink("sink", topic: "ticks", keySerde: .string, valueSerde: .string, parents: "ticker")
        return try TopologyTestDriver(topology)
    }

    @Test func streamTimePunctuatesOnDataAlignedToTheInterval() throws {
        let driver = try driver()
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        let ticks = driver.createOutputTopic("ticks", keySerde: .string, valueSerde: .string)
        // Aligned to 0: the first record punctuates; then at the first record at or past each
        // multiple of 10; a jump over several multiples punctuates once; late records do not.
        for timestamp: Int64 in [0, 5, 12, 3, 35, 39, 40] { try input.pipeInput("k", "v", timestamp: timestamp) }
        #expect(try ticks.readRecordsToList().map { "\($0.key)=\($0.value)@\($0.timestamp)" }
                == ["stream=0@0", "stream=12@12", "stream=35@35", "stream=40@40"])
    }

    @Test func wallClockPunctuatesOnTheMockClockWithoutData() throws {
        let driver = try driver()
        defer { try? driver.close() }
        let ticks = driver.createOutputTopic("ticks", keySerde: .string, valueSerde: .string)
        // Scheduled at time 0 for every second: due at 1000, 2000, ...
        try driver.advanceWallClockTime(.milliseconds(500))
        #expect(ticks.isEmpty)
        try driver.advanceWallClockTime(.milliseconds(600))
        try driver.advanceWallClockTime(.seconds(3))   // 4100: one punctuation, not three
        try driver.advanceWallClockTime(.milliseconds(899))  // 4999: not yet
        try driver.advanceWallClockTime(.milliseconds(1))    // 5000
        #expect(try ticks.readValuesToList() == ["1100", "4100", "5000"])
    }

    @Test func cancelledPunctuatorsStop() throws {
        final class Once: Processor {
            typealias KeyIn = String
            typealias ValueIn = String
            typealias KeyOut = String
            typealias ValueOut = String
            var context: ProcessorContext<String, String>!
            var schedule: (any Cancellable)?
            func initialize(context: ProcessorContext<String, String>) throws {
                self.context = context
                schedule = context.schedule(interval: .seconds(1), type: .wallClockTime) { [unowned self] time in
                    try self.context.forward(StreamRecord(key: "once", value: "\(time)", timestamp: time))
                    self.schedule?.cancel()
                }
            }
            func process(_ record: StreamRecord<String, String>) throws {}
        }
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("once", { Once() }, parents: "source")
        try topology.addSink("sink", topic: "out", keySerde: .string, valueSerde: .string, parents: "once")
        let driver = try TopologyTestDriver(topology)
        defer { try? driver.close() }
        for _ in 0..<3 { try driver.advanceWallClockTime(.seconds(1)) }
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readValuesToList() == ["1000"])
    }
}

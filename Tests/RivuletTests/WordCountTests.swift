import Rivulet
import RivuletTestDriver
import Testing

@Suite struct WordCountTests {
    /// The word count of docs/streams.md.
    static func wordCountTopology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("text-lines", Consumed.with(.optional(.string), .string))
            .flatMapValues { line in line.lowercased().unicodeScalars.split(separator: " ").map(String.init) }
            .groupBy(Grouped.with(.string, .string)) { _, word in word }
            .count(Materialized.as("counts"))
            .toStream()
            .to("word-counts", Produced.with(.string, .int64))
        return try builder.build()
    }

    @Test func countsWordsAcrossLines() throws {
        let driver = try TopologyTestDriver(Self.wordCountTopology())
        defer { try? driver.close() }
        let lines = driver.createInputTopic("text-lines", keySerde: .optional(.string), valueSerde: .string)
        let counts = driver.createOutputTopic("word-counts", keySerde: .string, valueSerde: .int64)

        try lines.pipeInput("all streams lead", timestamp: 1)
        try lines.pipeInput("to kafka", timestamp: 2)
        try lines.pipeInput("streams to streams", timestamp: 3)

        // One update per word per input record: the driver commits after each record, and the
        // cache folds "streams", counted twice in the third line, into a single update of 3,
        // emitted after "to" because its last update came later.
        let expected: [KeyValue<String, Int64>] = [
            KeyValue("all", 1), KeyValue("streams", 1), KeyValue("lead", 1),
            KeyValue("to", 1), KeyValue("kafka", 1),
            KeyValue("to", 2), KeyValue("streams", 3),
        ]
        #expect(try counts.readKeyValuesToList() == expected)
        let store = try #require(driver.getKeyValueStore("counts", keyType: String.self, valueType: Int64.self))
        #expect(try store.get("streams") == 3)
        #expect(try store.get("lead") == 1)
        #expect(try store.get("missing") == nil)
    }
}

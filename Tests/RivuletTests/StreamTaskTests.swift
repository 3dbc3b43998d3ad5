import KafkaProtocol
import NIOCore
@testable import Rivulet
import RivuletTestDriver
import Testing

@Suite struct StreamTaskTests {
    final class Collector: RecordCollector {
        var sent: [String] = []
        private(set) var offsets: [TopicPartition: Int64] = [:]
        func send(topic: String, partition: Int32?, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) throws {
            sent.append("\(topic):\(text(value) ?? "null")@\(timestamp)")
        }
        func partitionCount(of topic: String) -> Int32? { nil }
        func flush() throws {}
    }

    /// Task 0_0 of `builder`'s topology, without a record cache, its processors initialised.
    private func uncachedTask(_ builder: StreamsBuilder, collector: Collector, stateDirectory: TemporaryDirectory) throws -> StreamTask {
        let task = try StreamTask(id: TaskId(subtopology: 0, partition: 0), topology: try builder.build(),
                                  config: StreamsConfig(applicationId: "t", stateDirectory: stateDirectory.path),
                                  collector: collector, recordCache: nil, wallClockTime: 0)
        try task.initializeProcessors()
        return task
    }

    private func record(_ topic: String, _ offset: Int64, _ value: String, at timestamp: Int64) -> RawRecord {
        RawRecord(topic: topic, partition: 0, offset: offset, timestamp: timestamp, key: buffer("k"), value: buffer(value))
    }

    @Test func recordsAreProcessedInTimestampOrderAcrossPartitions() throws {
        let builder = StreamsBuilder()
        builder.stream("a", Consumed.with(.string, .string)).merge(builder.stream("b", Consumed.with(.string, .string))).to("out")
        let collector = Collector()
        let directory = TemporaryDirectory()
        let task = try uncachedTask(builder, collector: collector, stateDirectory: directory)
        let a = TopicPartition(topic: "a", partition: 0), b = TopicPartition(topic: "b", partition: 0)
        try task.addRecords([record("a", 0, "a1", at: 1), record("a", 1, "a5", at: 5), record("a", 2, "a6", at: 6)], from: a)
        try task.addRecords([record("b", 0, "b2", at: 2), record("b", 1, "b4", at: 4), record("b", 2, "b9", at: 9)], from: b)
        #expect(task.bufferedRecordCount == 6)
        #expect(task.allPartitionsBuffered)
        while try task.process() {}
        #expect(collector.sent == ["out:a1@1", "out:b2@2", "out:b4@4", "out:a5@5", "out:a6@6", "out:b9@9"])
        #expect(task.streamTime == 9)
        #expect(try task.prepareCommit() == [a: 3, b: 3])
        try task.postCommit()
        try task.close()
    }

    struct FlushFailure: Error {}

    /// A commit that fails in a cache flush (a processor downstream of the cache throws) still
    /// releases the task's stores: the same task can open them again at once.
    @Test func aCloseWhoseCommitFailsStillClosesTheStores() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string))
            .groupByKey()
            .count(Materialized.as("counts"))
            .toStream()
            .mapValues { (count: Int64?) -> Int64? in
                if (count ?? 0) > 0 { throw FlushFailure() }
                return count
            }
            .to("out", Produced.with(.string, .int64))
        let topology = try builder.build()
        let directory = TemporaryDirectory()
        let config = StreamsConfig(applicationId: "t", stateDirectory: directory.path)
        let id = TaskId(subtopology: 0, partition: 0)
        let cache = RecordCache(maxBytes: 1 << 20)
        let task = try StreamTask(id: id, topology: topology, config: config, collector: Collector(), recordCache: cache, wallClockTime: 0)
        try task.initializeProcessors()
        try task.addRecords([record("in", 0, "x", at: 1)], from: TopicPartition(topic: "in", partition: 0))
        while try task.process() {}
        #expect(throws: StreamsError.self) { try task.close() }
        #expect(!cache.hasDirtyEntries(task: id))
        // RocksDB locks its directory while open: this fails if the first task still holds it.
        let reopened = try StreamTask(id: id, topology: topology, config: config, collector: Collector(), recordCache: cache, wallClockTime: 0)
        try reopened.close()
    }

    @Test func equalTimestampsGoToTheSmallerPartitionFirstAndFanOutKeepsChildOrder() throws {
        let builder = StreamsBuilder()
        let merged = builder.stream("a", Consumed.with(.string, .string)).merge(builder.stream("b", Consumed.with(.string, .string)))
        // One node with two children: each record reaches both, in the order they were added.
        merged.mapValues { "first-\($0)" }.to("out")
        merged.mapValues { "second-\($0)" }.to("out")
        let collector = Collector()
        let directory = TemporaryDirectory()
        let task = try uncachedTask(builder, collector: collector, stateDirectory: directory)
        let a = TopicPartition(topic: "a", partition: 0), b = TopicPartition(topic: "b", partition: 0)
        // "b" is buffered first, yet on equal timestamps "a" (the smaller partition) goes first.
        try task.addRecords([record("b", 0, "b3", at: 3), record("b", 1, "b7", at: 7)], from: b)
        try task.addRecords([record("a", 0, "a3", at: 3), record("a", 1, "a4", at: 4)], from: a)
        while try task.process() {}
        #expect(collector.sent == [
            "out:first-a3@3", "out:second-a3@3", "out:first-b3@3", "out:second-b3@3",
            "out:first-a4@4", "out:second-a4@4", "out:first-b7@7", "out:second-b7@7",
        ])
        #expect(try task.prepareCommit() == [a: 2, b: 2])
        try task.postCommit()
        try task.close()
    }

    @Test func timestampExtractors() throws {
        // The timestamp is the value, in seconds: an extractor reading the raw record.
        let fromValue = TimestampExtractor { record, _ in
            record.value.flatMap { Int64(String(buffer: $0)) }.map { $0 * 1000 } ?? -1
        }
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string).withTimestampExtractor(fromValue)).to("out")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("k", "7", timestamp: 1)
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readRecord()?.timestamp == 7000)
        // "x" gives -1: the extractor fails on invalid timestamps by default.
        #expect(throws: StreamsError.self) { try input.pipeInput("k", "x", timestamp: 1) }
    }

    @Test func invalidTimestampsCanBeSkipped() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string).withTimestampExtractor(.recordTimestampSkippingInvalid)).to("out")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("a", "1", timestamp: -5)
        try input.pipeInput("b", "2", timestamp: 5)
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readKeyValuesToList() == [KeyValue("b", "2")])
    }

    @Test func readKeyValuesToMapAppliesTombstones() throws {
        let builder = StreamsBuilder()
        builder.table("in", Consumed.with(.string, .string)).toStream().to("out", Produced.with(.string, .string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("a", "1")
        try input.pipeInput("b", "2")
        try input.pipeTombstone("a")
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readKeyValuesToMap() == ["b": "2"])
    }
}

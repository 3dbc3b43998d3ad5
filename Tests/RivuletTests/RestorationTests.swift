import Foundation
import KafkaProtocol
import NIOCore
@testable import Rivulet
import Testing

@Suite struct RestorationTests {
    @Test func checkpointFileFormat() throws {
        let directory = TemporaryDirectory()
        let checkpoint = OffsetCheckpoint(taskDirectory: "\(directory.path)/app/1_2")
        #expect(try checkpoint.read() == [:])
        try checkpoint.write([
            TopicPartition(topic: "app-b-changelog", partition: 2): 17,
            TopicPartition(topic: "app-a-changelog", partition: 2): 1042,
        ])
        let written = try String(contentsOfFile: "\(directory.path)/app/1_2/.checkpoint", encoding: .utf8)
        #expect(written == "0\n2\napp-a-changelog 2 1042\napp-b-changelog 2 17\n")
        #expect(try checkpoint.read() == [
            TopicPartition(topic: "app-a-changelog", partition: 2): 1042,
            TopicPartition(topic: "app-b-changelog", partition: 2): 17,
        ])
    }

    @Test func malformedCheckpointsAreRejected() throws {
        let directory = TemporaryDirectory()
        let path = "\(directory.path)/.checkpoint"
        for contents in ["1\n0\n", "0\n2\ntopic 0 5\n", "0\n1\ntopic zero 5\n", "garbage"] {
            try contents.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: StateStoreError.self) { try OffsetCheckpoint(path: path).read() }
        }
    }

    /// A topology with one logged RocksDB store that a processor writes: value = key's latest.
    private func latestValueTopology() throws -> Topology {
        final class Latest: Processor {
            typealias KeyIn = String
            typealias ValueIn = String
            typealias KeyOut = Never
            typealias ValueOut = Never
            var store: TypedKeyValueStore<String, String>!
            func initialize(context: ProcessorContext<Never, Never>) throws {
                store = try context.keyValueStore(named: "latest")
            }
            func process(_ record: StreamRecord<String, String>) throws {
                try store.put(record.key, record.value)
            }
        }
        var topology = Topology()
        try topology.addSource("source", topics: ["input"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("latest-writer", { Latest() }, parents: "source")
        try topology.addStateStore(
            Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("latest"), keySerde: .string, valueSerde: .string),
            connectedTo: ["latest-writer"]
        )
        return topology
    }

    /// Collects output in memory, with offsets per partition.
    final class MemoryCollector: RecordCollector {
        var records: [RawRecord] = []
        private(set) var offsets: [TopicPartition: Int64] = [:]

        func send(topic: String, partition: Int32?, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) throws {
            let partition = partition ?? 0
            let tp = TopicPartition(topic: topic, partition: partition)
            let offset = (offsets[tp] ?? -1) + 1
            offsets[tp] = offset
            records.append(RawRecord(topic: topic, partition: partition, offset: offset, timestamp: timestamp, key: key, value: value))
        }
        func partitionCount(of topic: String) -> Int32? { nil }
        func flush() throws {}
    }

    @Test func taskLogsWritesAndCheckpointsChangelogOffsetsOnCommit() throws {
        let directory = TemporaryDirectory()
        let config = StreamsConfig(applicationId: "app", stateDirectory: directory.path)
        let collector = MemoryCollector()
        let task = try StreamTask(id: TaskId(subtopology: 0, partition: 3), topology: latestValueTopology(), config: config,
                                  collector: collector, recordCache: nil, wallClockTime: 0)
        let changelog = TopicPartition(topic: "app-latest-changelog", partition: 3)
        #expect(task.restoreStartOffsets == [changelog: Int64?.none])
        try task.initializeProcessors()
        let input = TopicPartition(topic: "input", partition: 3)
        try task.addRecords([
            RawRecord(topic: "input", partition: 3, offset: 40, timestamp: 5, key: buffer("a"), value: buffer("1")),
            RawRecord(topic: "input", partition: 3, offset: 41, timestamp: 6, key: buffer("b"), value: buffer("2")),
        ], from: input)
        while try task.process() {}
        #expect(try task.prepareCommit() == [input: 42])
        try task.postCommit()
        // Changelog records on the task's partition, stamped with the input records' timestamps.
        #expect(collector.records.map { "\($0.topic)/\($0.partition)@\($0.offset) \(text($0.key)!)=\(text($0.value)!) t\($0.timestamp)" } == [
            "app-latest-changelog/3@0 a=1 t5", "app-latest-changelog/3@1 b=2 t6",
        ])
        let checkpoint = try String(contentsOfFile: "\(directory.path)/app/0_3/.checkpoint", encoding: .utf8)
        #expect(checkpoint == "0\n1\napp-latest-changelog 3 2\n")
        try task.close()
    }

    @Test func restartRestoresOnlyTheTailAfterTheCheckpoint() throws {
        let directory = TemporaryDirectory()
        let config = StreamsConfig(applicationId: "app", stateDirectory: directory.path)
        let changelog = TopicPartition(topic: "app-latest-changelog", partition: 0)
        let id = TaskId(subtopology: 0, partition: 0)

        // First life: restore three changelog records from scratch, then close (checkpoint 3).
        do {
            let task = try StreamTask(id: id, topology: latestValueTopology(), config: config,
                                      collector: MemoryCollector(), recordCache: nil, wallClockTime: 0)
            #expect(task.restoreStartOffsets[changelog] == .some(Int64?.none))
            try task.restore(changelog, records: [
                ChangelogRecord(key: buffer("a"), value: buffer("1"), timestamp: 1, offset: 0),
                ChangelogRecord(key: buffer("b"), value: buffer("2"), timestamp: 2, offset: 1),
                ChangelogRecord(key: buffer("a"), value: buffer("3"), timestamp: 3, offset: 2),
            ])
            try task.initializeProcessors()
            let store = try #require(task.stateStore(named: "latest") as? TypedKeyValueStore<String, String>)
            #expect(try store.get("a") == "3")
            #expect(try store.get("b") == "2")
            try task.close()
        }
        #expect(try String(contentsOfFile: "\(directory.path)/app/0_0/.checkpoint", encoding: .utf8) == "0\n1\napp-latest-changelog 0 3\n")

        // Second life: RocksDB kept the data; restoration resumes at offset 3 and applies a delete.
        let task = try StreamTask(id: id, topology: latestValueTopology(), config: config,
                                  collector: MemoryCollector(), recordCache: nil, wallClockTime: 0)
        defer { try? task.close() }
        #expect(task.restoreStartOffsets[changelog] == .some(Int64?.some(3)))
        try task.restore(changelog, records: [
            ChangelogRecord(key: buffer("b"), value: nil, timestamp: 4, offset: 3),
            ChangelogRecord(key: buffer("c"), value: buffer("5"), timestamp: 5, offset: 4),
        ])
        try task.initializeProcessors()
        let store = try #require(task.stateStore(named: "latest") as? TypedKeyValueStore<String, String>)
        #expect(try store.all().readAll() == [KeyValue("a", "3"), KeyValue("c", "5")])
        _ = try task.prepareCommit()
        try task.postCommit()
        #expect(try String(contentsOfFile: "\(directory.path)/app/0_0/.checkpoint", encoding: .utf8) == "0\n1\napp-latest-changelog 0 5\n")
    }

    @Test func restoringATimestampedStoreRepacksTheRecordTimestamp() throws {
        let builder = Stores.timestampedKeyValueStoreBuilder(.inMemory("t"), keySerde: .string, valueSerde: .string)
        let built = builder.build()
        let typed = try #require(built.store as? TypedKeyValueStore<String, String>)
        try typed.initialize(context: .standalone(directory: "/nonexistent"))
        try built.restore([ChangelogRecord(key: buffer("k"), value: buffer("v"), timestamp: 9, offset: 0)])
        #expect(try typed.getWithTimestamp("k") == ValueAndTimestamp("v", timestamp: 9))
    }

    @Test func inMemoryStoresAreNotCheckpointedAndRestoreFromTheStart() throws {
        let directory = TemporaryDirectory()
        var topology = Topology()
        try topology.addSource("source", topics: ["input"], keySerde: .string, valueSerde: .string)
        try topology.addStateStore(Stores.keyValueStoreBuilder(.inMemory("mem"), keySerde: .string, valueSerde: .string))
        final class Noop: Processor {
            typealias KeyIn = String
            typealias ValueIn = String
            typealias KeyOut = Never
            typealias ValueOut = Never
            func process(_ record: StreamRecord<String, String>) throws {}
        }
        try topology.addProcessor("noop", { Noop() }, parents: "source")
        try topology.connectProcessorAndStateStores("noop", "mem")
        let config = StreamsConfig(applicationId: "app", stateDirectory: directory.path)
        let task = try StreamTask(id: TaskId(subtopology: 0, partition: 0), topology: topology, config: config,
                                  collector: MemoryCollector(), recordCache: nil, wallClockTime: 0)
        try task.restore(TopicPartition(topic: "app-mem-changelog", partition: 0),
                         records: [ChangelogRecord(key: buffer("k"), value: buffer("v"), timestamp: 1, offset: 0)])
        try task.initializeProcessors()
        try task.close()
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/app/0_0/.checkpoint"))
    }
}

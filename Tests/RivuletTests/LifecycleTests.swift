import KafkaProtocol
import NIOCore
import Rivulet
import RivuletTestDriver
import Testing

@Suite struct LifecycleTests {
    /// Sub-topology 0 writes a RocksDB store; sub-topology 1's processor asks for a store it is
    /// not connected to when `broken`.
    private func topology(broken: Bool) throws -> Topology {
        final class Writer: Processor {
            typealias KeyIn = String
            typealias ValueIn = String
            typealias KeyOut = Never
            typealias ValueOut = Never
            let storeName: String
            var store: TypedKeyValueStore<String, String>!
            init(storeName: String) { self.storeName = storeName }
            func initialize(context: ProcessorContext<Never, Never>) throws { store = try context.keyValueStore(named: storeName) }
            func process(_ record: StreamRecord<String, String>) throws { try store.put(record.key, record.value) }
        }
        var topology = Topology()
        try topology.addSource("s0", topics: ["zero"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("w0", { Writer(storeName: "disk") }, parents: "s0")
        try topology.addStateStore(Stores.keyValueStoreBuilder(.rocksDB("disk"), keySerde: .string, valueSerde: .string), connectedTo: ["w0"])
        try topology.addSource("s1", topics: ["one"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("w1", { Writer(storeName: broken ? "disk" : "memory") }, parents: "s1")
        try topology.addStateStore(Stores.keyValueStoreBuilder(.inMemory("memory"), keySerde: .string, valueSerde: .string), connectedTo: ["w1"])
        return topology
    }

    @Test func aFailedDriverReleasesWhatItOpened() throws {
        let directory = TemporaryDirectory()
        let config = StreamsConfig(applicationId: "life", stateDirectory: directory.path)
        #expect(throws: StreamsError.self) {
            try TopologyTestDriver(try topology(broken: true), config: config, useConfiguredStateDirectory: true)
        }
        // RocksDB locks its directory while open: opening it again proves the failed driver closed it.
        let driver = try TopologyTestDriver(try topology(broken: false), config: config, useConfiguredStateDirectory: true)
        try driver.createInputTopic("zero", keySerde: .string, valueSerde: .string).pipeInput("k", "v")
        try driver.close()
        let again = try TopologyTestDriver(try topology(broken: false), config: config, useConfiguredStateDirectory: true)
        defer { try? again.close() }
        #expect(try again.getKeyValueStore("disk", keyType: String.self, valueType: String.self)?.get("k") == "v")
    }

    @Test func misuseThrowsInsteadOfCrashing() throws {
        let driver = try TopologyTestDriver(try topology(broken: false))
        let input = driver.createInputTopic("zero", keySerde: .string, valueSerde: .string)
        #expect(throws: StreamsError.self) {
            try driver.createInputTopic("unknown", keySerde: .string, valueSerde: .string).pipeInput("k", "v")
        }
        try driver.close()
        #expect(throws: StreamsError.self) { try input.pipeInput("k", "v") }

        let directory = TemporaryDirectory()
        let task = try StreamTask(id: TaskId(subtopology: 1, partition: 0), topology: try topology(broken: false),
                                  config: StreamsConfig(applicationId: "x", stateDirectory: directory.path),
                                  collector: DiscardingCollector(), recordCache: nil, wallClockTime: 0)
        defer { try? task.close() }
        #expect(throws: StreamsError.self) { try task.process() }
        #expect(throws: StreamsError.self) {
            try task.addRecords([RawRecord(topic: "zero", partition: 0, offset: 0, timestamp: 0, key: nil, value: nil)],
                                from: TopicPartition(topic: "zero", partition: 0))
        }
    }
}

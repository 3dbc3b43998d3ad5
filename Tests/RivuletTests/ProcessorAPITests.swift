import KafkaProtocol
import NIOCore
import Rivulet
import RivuletTestDriver
import Testing

/// Counts records per key in a store and sends each record to the "even" or "odd" child by
/// the count, with the record's origin as its value and a header.
final class ParityRouter: Processor {
    typealias KeyIn = String
    typealias ValueIn = String
    typealias KeyOut = String
    typealias ValueOut = String

    private var context: ProcessorContext<String, String>!
    private var counts: TypedKeyValueStore<String, Int64>!

    func initialize(context: ProcessorContext<String, String>) throws {
        self.context = context
        counts = try context.keyValueStore(named: "counts")
    }

    func process(_ record: StreamRecord<String, String>) throws {
        let count = (try counts.get(record.key) ?? 0) + 1
        try counts.put(record.key, count)
        let origin = context.recordMetadata.map { "\($0.topic):\($0.partition):\($0.offset)" } ?? "none"
        var output = record.withValue(origin)
        output.headers.append(RecordHeader(key: "count", value: ByteBuffer(string: String(count))))
        try context.forward(output, to: count % 2 == 0 ? "even" : "odd")
    }
}

@Suite struct ProcessorAPITests {
    private func routerTopology() throws -> Topology {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("router", { ParityRouter() }, parents: "source")
        try topology.addStateStore(
            Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("counts"), keySerde: .string, valueSerde: .int64),
            connectedTo: ["router"]
        )
        try topology.addSink("even", topic: "even-out", keySerde: .string, valueSerde: .string, parents: "router")
        try topology.addSink("odd", topic: "odd-out", keySerde: .string, valueSerde: .string, parents: "router")
        return topology
    }

    @Test func processorsForwardToNamedChildrenAndUseStores() throws {
        let driver = try TopologyTestDriver(try routerTopology())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        for key in ["a", "b", "a", "a"] { try input.pipeInput(key, "v") }
        let odd = try driver.createOutputTopic("odd-out", keySerde: .string, valueSerde: .string).readRecordsToList()
        let even = try driver.createOutputTopic("even-out", keySerde: .string, valueSerde: .string).readRecordsToList()
        #expect(odd.map { "\($0.key) \($0.value)" } == ["a in:0:0", "b in:0:1", "a in:0:3"])
        #expect(even.map { "\($0.key) \($0.value)" } == ["a in:0:2"])
        #expect(even.first?.headers == [RecordHeader(key: "count", value: ByteBuffer(string: "2"))])
        let counts = try #require(driver.getKeyValueStore("counts", keyType: String.self, valueType: Int64.self))
        #expect(try counts.all().readAll() == [KeyValue("a", 3), KeyValue("b", 1)])
        // Logged by default: the changelog received every write.
        #expect(driver.producedTopicNames.contains("topology-test-driver-counts-changelog"))
    }

    @Test func connectingMismatchedTypesFailsWhenAdding() throws {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], keySerde: .string, valueSerde: .int64)
        #expect(throws: TopologyError.typeMismatch(parent: "source", parentOutput: "(String, Int64)", child: "router", childInput: "(String, String)")) {
            try topology.addProcessor("router", { ParityRouter() }, parents: "source")
        }
    }

    @Test func topologyBuildingErrors() throws {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], keySerde: .string, valueSerde: .string)
        #expect(throws: TopologyError.duplicateNode("source")) {
            try topology.addSource("source", topics: ["other"], keySerde: .string, valueSerde: .string)
        }
        #expect(throws: TopologyError.topicAlreadyRead(topic: "in", by: "source")) {
            try topology.addSource("second", topics: ["in"], keySerde: .string, valueSerde: .string)
        }
        #expect(throws: TopologyError.unknownNode("missing")) {
            try topology.addProcessor("p", { ParityRouter() }, parents: "missing")
        }
        try topology.addSink("sink", topic: "out", keySerde: .string, valueSerde: .string, parents: "source")
        #expect(throws: TopologyError.sinkCannotHaveChildren("sink")) {
            try topology.addProcessor("p", { ParityRouter() }, parents: "sink")
        }
        #expect(throws: TopologyError.unknownStore("nope")) {
            try topology.connectProcessorAndStateStores("sink", "nope")
        }
    }

    @Test func storesMustBeConnectedToBeUsed() throws {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("router", { ParityRouter() }, parents: "source")
        try topology.addStateStore(Stores.keyValueStoreBuilder(.inMemory("counts"), keySerde: .string, valueSerde: .int64))
        do {
            _ = try TopologyTestDriver(topology)
            Issue.record("expected the processor to fail to find its store")
        } catch StreamsError.processing(let node, let underlying) {
            #expect(node == "router")
            #expect(underlying as? StateStoreError == .unknownStore(store: "counts", processor: "router"))
        }
    }

    @Test func processorErrorsNameTheNode() throws {
        struct Boom: Error {}
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string)).mapValues(named: "explode") { _ -> String in throw Boom() }.to("out")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        do {
            try driver.createInputTopic("in", keySerde: .string, valueSerde: .string).pipeInput("k", "v")
            Issue.record("expected a processing failure")
        } catch StreamsError.processing(let node, let underlying) {
            #expect(node == "explode")
            #expect(underlying is Boom)
        }
    }

    @Test func dslStreamsCanRunProcessors() throws {
        final class Deduplicate: Processor {
            typealias KeyIn = String
            typealias ValueIn = String
            typealias KeyOut = String
            typealias ValueOut = String
            var context: ProcessorContext<String, String>!
            var seen: TypedKeyValueStore<String, String>!
            func initialize(context: ProcessorContext<String, String>) throws {
                self.context = context
                seen = try context.keyValueStore(named: "seen")
            }
            func process(_ record: StreamRecord<String, String>) throws {
                guard try seen.putIfAbsent(record.value, record.key) == nil else { return }
                try context.forward(record)
            }
        }
        let builder = StreamsBuilder()
        builder.addStateStore(Stores.keyValueStoreBuilder(.rocksDB("seen"), keySerde: .string, valueSerde: .string))
        builder.stream("in", Consumed.with(.string, .string))
            .process(stores: ["seen"]) { Deduplicate() }
            .to("out", Produced.with(.string, .string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        for (key, value) in [("1", "x"), ("2", "y"), ("3", "x"), ("4", "z")] { try input.pipeInput(key, value) }
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readKeyValuesToList().map(\.key) == ["1", "2", "4"])
    }
}

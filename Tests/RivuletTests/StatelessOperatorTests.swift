import KafkaProtocol
import NIOCore
import Rivulet
import RivuletTestDriver
import Testing

/// Every stateless KStream operator through the test driver. Expected outputs are worked out by
/// hand from the inputs and the operator's definition.
@Suite struct StatelessOperatorTests {
    /// Builds with `build`, pipes `(key, value)` pairs with timestamps 1, 2, ... into "in", and
    /// returns what "out" received.
    private func run<K, V>(
        _ inputs: [(String, String)],
        output keySerde: Serde<K>, _ valueSerde: Serde<V>,
        _ build: (KStream<String, String>) -> Void
    ) throws -> [TestRecord<K, V>] {
        let builder = StreamsBuilder()
        build(builder.stream("in", Consumed.with(.string, .string)))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        for (index, (key, value)) in inputs.enumerated() { try input.pipeInput(key, value, timestamp: Int64(index + 1)) }
        return try driver.createOutputTopic("out", keySerde: keySerde, valueSerde: valueSerde).readRecordsToList()
    }

    @Test func mapChangesKeysAndValues() throws {
        let out = try run([("a", "1"), ("b", "22")], output: .string, .int32) { stream in
            stream.map { key, value in (value, Int32(key.unicodeScalars.first!.value)) }
                .to("out", Produced.with(.string, .int32))
        }
        #expect(out == [TestRecord(key: "1", value: 97, timestamp: 1), TestRecord(key: "22", value: 98, timestamp: 2)])
    }

    @Test func mapValuesKeepsKeys() throws {
        let out = try run([("k", "abc"), ("l", "")], output: .string, .int64) { stream in
            stream.mapValues { Int64($0.count) }.to("out", Produced.with(.string, .int64))
        }
        #expect(out.map { KeyValue($0.key, $0.value) } == [KeyValue("k", 3), KeyValue("l", 0)])
        let withKey = try run([("k", "abc")], output: .string, .string) { stream in
            stream.mapValues { key, value in "\(key):\(value)" }.to("out")
        }
        #expect(withKey.map(\.value) == ["k:abc"])
    }

    @Test func flatMapEmitsZeroOrMoreRecords() throws {
        let out = try run([("x", "a,b"), ("y", ""), ("z", "c")], output: .string, .string) { stream in
            stream.flatMap { key, value in
                value.split(separator: ",").map { (String($0), key) }
            }.to("out", Produced.with(.string, .string))
        }
        #expect(out.map { "\($0.key)=\($0.value)@\($0.timestamp)" } == ["a=x@1", "b=x@1", "c=z@3"])
    }

    @Test func flatMapValuesKeepsTheKey() throws {
        // Every value once, in order, with its input's timestamp; no values, no records.
        let out = try run([("x", "a b c"), ("e", ""), ("y", "d")], output: .string, .string) { stream in
            stream.flatMapValues { $0.split(separator: " ").map(String.init) }.to("out")
        }
        #expect(out.map { "\($0.key)=\($0.value)@\($0.timestamp)" } == ["x=a@1", "x=b@1", "x=c@1", "y=d@3"])
        let keyed = try run([("x", "ab")], output: .string, .string) { stream in
            stream.flatMapValues { key, value in value.map { "\(key)\($0)" } }.to("out")
        }
        #expect(keyed.map(\.value) == ["xa", "xb"])
    }

    @Test func filterAndFilterNot() throws {
        let kept = try run([("a", "1"), ("b", "22"), ("c", "333")], output: .string, .string) { stream in
            stream.filter { _, value in value.count % 2 == 1 }.to("out")
        }
        #expect(kept.map(\.key) == ["a", "c"])
        let dropped = try run([("a", "1"), ("b", "22"), ("c", "333")], output: .string, .string) { stream in
            stream.filterNot { _, value in value.count % 2 == 1 }.to("out")
        }
        #expect(dropped.map(\.key) == ["b"])
    }

    @Test func selectKeyReplacesTheKey() throws {
        let out = try run([("a", "x"), ("b", "y")], output: .string, .string) { stream in
            stream.selectKey { key, value in value + key }.to("out")
        }
        #expect(out.map { "\($0.key)=\($0.value)" } == ["xa=x", "yb=y"])
    }

    @Test func peekAndForeachSeeEveryRecord() throws {
        let peeked = Captured<String>()
        let visited = Captured<String>()
        let out = try run([("a", "1"), ("b", "2")], output: .string, .string) { stream in
            let peekedStream = stream.peek { key, value in peeked.append("\(key)\(value)") }
            peekedStream.to("out")
            peekedStream.foreach { key, _ in visited.append(key) }
        }
        #expect(peeked.values == ["a1", "b2"])
        #expect(visited.values == ["a", "b"])
        #expect(out.map(\.key) == ["a", "b"])
    }

    @Test func splitRoutesToTheFirstMatchingBranch() throws {
        let builder = StreamsBuilder()
        let branches = builder.stream("in", Consumed.with(.string, .int64))
            .split(named: "numbers-")
            .branch(named: "negative") { _, value in value < 0 }
            .branch(named: "small") { _, value in value < 10 }
            .defaultBranch(named: "large")
        #expect(Set(branches.keys) == ["numbers-negative", "numbers-small", "numbers-large"])
        branches["numbers-negative"]!.to("negative")
        branches["numbers-small"]!.to("small")
        branches["numbers-large"]!.to("large")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .int64)
        for (key, value) in [("a", -5), ("b", 3), ("c", 50), ("d", -1), ("e", 9)] as [(String, Int64)] {
            try input.pipeInput(key, value)
        }
        #expect(try driver.createOutputTopic("negative", keySerde: .string, valueSerde: .int64).readKeyValuesToList().map(\.key) == ["a", "d"])
        #expect(try driver.createOutputTopic("small", keySerde: .string, valueSerde: .int64).readKeyValuesToList().map(\.key) == ["b", "e"])
        #expect(try driver.createOutputTopic("large", keySerde: .string, valueSerde: .int64).readKeyValuesToList().map(\.key) == ["c"])
    }

    @Test func unnamedBranchesArePositionedAndUnmatchedRecordsDropped() throws {
        let builder = StreamsBuilder()
        let branches = builder.stream("in", Consumed.with(.string, .string))
            .split(named: "b-")
            .branch { key, _ in key.hasPrefix("x") }
            .branch { key, _ in key.hasPrefix("y") }
            .noDefaultBranch()
        #expect(Set(branches.keys) == ["b-1", "b-2"])
        branches["b-1"]!.to("xs")
        branches["b-2"]!.to("ys")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        for key in ["x1", "z1", "y1", "x2"] { try input.pipeInput(key, "v") }
        #expect(try driver.createOutputTopic("xs", keySerde: .string, valueSerde: .string).readKeyValuesToList().map(\.key) == ["x1", "x2"])
        #expect(try driver.createOutputTopic("ys", keySerde: .string, valueSerde: .string).readKeyValuesToList().map(\.key) == ["y1"])
    }

    @Test func mergeInterleavesBothStreams() throws {
        let builder = StreamsBuilder()
        let left = builder.stream("left", Consumed.with(.string, .string))
        let right = builder.stream("right", Consumed.with(.string, .string)).mapValues { $0.uppercased() }
        left.merge(right).to("out")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let leftInput = driver.createInputTopic("left", keySerde: .string, valueSerde: .string)
        let rightInput = driver.createInputTopic("right", keySerde: .string, valueSerde: .string)
        try leftInput.pipeInput("1", "a", timestamp: 1)
        try rightInput.pipeInput("2", "b", timestamp: 2)
        try leftInput.pipeInput("3", "c", timestamp: 3)
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readValuesToList() == ["a", "B", "c"])
    }

    @Test func sinkPartitionerChoosesThePartition() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string))
            .to("out", Produced.with(.string, .string, partitioner: StreamPartitioner { _, key, _, count in
                Int32(key.count) % count
            }))
        let driver = try TopologyTestDriver(try builder.build(), partitionCounts: ["out": 4])
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        for key in ["a", "bbbbb", "ccc", "dddd"] { try input.pipeInput(key, "v") }
        let partitions = try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readRecordsToList().map(\.partition)
        #expect(partitions == [1, 1, 3, 0])
    }

    @Test func timestampsAndHeadersFlowThrough() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string)).mapValues { $0 + "!" }.to("out")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let header = RecordHeader(key: "trace", value: ByteBuffer(string: "abc"))
        try driver.createInputTopic("in", keySerde: .string, valueSerde: .string).pipeInput("k", "v", timestamp: 1234, headers: [header])
        let record = try #require(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readRecord())
        #expect(record.timestamp == 1234)
        #expect(record.headers == [header])
        #expect(record.value == "v!")
    }

    @Test func inputTopicsAutoAdvanceTimestamps() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string)).to("out")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string, startTimestamp: 100, autoAdvance: .milliseconds(5))
        try input.pipeKeyValueList([KeyValue("a", "1"), KeyValue("b", "2")])
        input.advanceTime(.seconds(1))
        try input.pipeInput("c", "3")
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readRecordsToList().map(\.timestamp) == [100, 105, 1110])
    }

    @Test func repartitionRoutesThroughAnInternalTopic() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string))
            .selectKey { _, value in value }
            .repartition(Repartitioned.as("by-value").withNumberOfPartitions(3))
            .mapValues { $0 + "'" }
            .to("out")
        let topology = try builder.build()
        #expect(topology.subtopologies.count == 2)
        let driver = try TopologyTestDriver(topology, config: StreamsConfig(applicationId: "app"))
        defer { try? driver.close() }
        try driver.createInputTopic("in", keySerde: .string, valueSerde: .string).pipeInput("k", "v")
        #expect(driver.producedTopicNames.contains("app-by-value-repartition"))
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readKeyValuesToList() == [KeyValue("v", "v'")])
        #expect(topology.internalTopics(applicationId: "app").first?.partitions == .fixed(3))
    }

    @Test func keylessRecordsNeedAnOptionalKeySerde() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.optional(.string), .string))
            .mapValues { $0.uppercased() }
            .to("out")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        try driver.createInputTopic("in", keySerde: .optional(.string), valueSerde: .string).pipeInput("hello")
        let record = try #require(try driver.createOutputTopic("out", keySerde: .optional(.string), valueSerde: .string).readRecord())
        #expect(record.key == nil)
        #expect(record.value == "HELLO")
    }
}

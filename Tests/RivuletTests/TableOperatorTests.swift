import Rivulet
import RivuletTestDriver
import Testing

/// KTable operators through the test driver. Outputs go through `toStream()`, so deletes show
/// up as null values: output topics are read with an optional value serde.
@Suite struct TableOperatorTests {
    private func driver(_ build: (StreamsBuilder) -> Void, commitInterval: Duration? = nil) throws -> TopologyTestDriver {
        let builder = StreamsBuilder()
        build(builder)
        return try TopologyTestDriver(try builder.build(), commitInterval: commitInterval)
    }

    private func updates(_ driver: TopologyTestDriver, _ topic: String = "out") throws -> [String] {
        try driver.createOutputTopic(topic, keySerde: .string, valueSerde: .optional(.string)).readRecordsToList()
            .map { "\($0.key)=\($0.value ?? "null")@\($0.timestamp)" }
    }

    @Test func tableSourceKeepsTheLatestValueAndDeletesOnTombstones() throws {
        let driver = try self.driver { builder in
            builder.table("in", Consumed.with(.string, .string), Materialized.as("latest")).toStream().to("out", Produced.with(.string, .string))
        }
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("a", "1", timestamp: 1)
        try input.pipeInput("b", "2", timestamp: 2)
        try input.pipeInput("a", "3", timestamp: 3)
        try input.pipeTombstone("b", timestamp: 4)
        try input.pipeTombstone("never-there", timestamp: 5)  // deleting an absent key emits nothing
        try input.pipeRawInput(key: nil, value: Array("keyless".utf8), timestamp: 6)  // tables drop null keys
        #expect(try updates(driver) == ["a=1@1", "b=2@2", "a=3@3", "b=null@4"])
        let store = try #require(driver.getKeyValueStore("latest", keyType: String.self, valueType: String.self))
        #expect(try store.all().readAll() == [KeyValue("a", "3")])
        #expect(try store.getWithTimestamp("a") == ValueAndTimestamp("3", timestamp: 3))
    }

    @Test func mapValuesOnATable() throws {
        let driver = try self.driver { builder in
            builder.table("in", Consumed.with(.string, .string))
                .mapValues(Materialized.as("lengths")) { Int64($0.count) }
                .toStream().to("out", Produced.with(.string, .int64))
        }
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("a", "xyz", timestamp: 1)
        try input.pipeTombstone("a", timestamp: 2)
        let out = try driver.createOutputTopic("out", keySerde: .string, valueSerde: .optional(.int64)).readKeyValuesToList()
        #expect(out == [KeyValue("a", 3), KeyValue("a", nil)])
        let store = try #require(driver.getKeyValueStore("lengths", keyType: String.self, valueType: Int64.self))
        #expect(try store.get("a") == nil)
    }

    @Test func filterDeletesRowsThatStopMatching() throws {
        let driver = try self.driver { builder in
            builder.table("in", Consumed.with(.string, .int64))
                .filter { _, value in value >= 10 }
                .toStream().to("out", Produced.with(.string, .int64))
        }
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .int64)
        try input.pipeInput("a", 5, timestamp: 1)   // never matched: nothing
        try input.pipeInput("a", 15, timestamp: 2)  // matches: 15
        try input.pipeInput("a", 20, timestamp: 3)  // still matches: 20
        try input.pipeInput("a", 1, timestamp: 4)   // stops matching: delete
        try input.pipeInput("a", 2, timestamp: 5)   // still not matching: nothing
        let out = try driver.createOutputTopic("out", keySerde: .string, valueSerde: .optional(.int64)).readRecordsToList()
        #expect(out.map(\.value) == [15, 20, nil])
        #expect(out.map(\.timestamp) == [2, 3, 4])
    }

    @Test func filterNotOnATable() throws {
        let driver = try self.driver { builder in
            builder.table("in", Consumed.with(.string, .string))
                .filterNot { key, _ in key.hasPrefix("tmp") }
                .toStream().to("out", Produced.with(.string, .string))
        }
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("tmp1", "x", timestamp: 1)
        try input.pipeInput("real", "y", timestamp: 2)
        #expect(try updates(driver) == ["real=y@2"])
    }

    @Test func streamToTable() throws {
        let driver = try self.driver { builder in
            builder.stream("in", Consumed.with(.string, .optional(.string)))
                .toTable(Materialized.as("from-stream"))
                .toStream().to("out", Produced.with(.string, .string))
        }
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .optional(.string))
        try input.pipeInput("a", "1", timestamp: 1)
        try input.pipeInput("a", "2", timestamp: 2)
        try input.pipeInput("a", nil, timestamp: 3)
        #expect(try updates(driver) == ["a=1@1", "a=2@2", "a=null@3"])
        #expect(try #require(driver.getKeyValueStore("from-stream", keyType: String.self, valueType: String.self)).get("a") == nil)
    }

    @Test func streamToTableAfterAKeyChangeRepartitions() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string))
            .selectKey { _, value in value }
            .toTable(Materialized.with(.string, .string))
            .toStream().to("out", Produced.with(.string, .string))
        let topology = try builder.build()
        #expect(topology.subtopologies.count == 2)
        let driver = try TopologyTestDriver(topology)
        defer { try? driver.close() }
        try driver.createInputTopic("in", keySerde: .string, valueSerde: .string).pipeInput("k", "v", timestamp: 1)
        #expect(try updates(driver) == ["v=v@1"])
    }

    @Test func cachingFoldsUpdatesUntilTheCommitInterval() throws {
        let driver = try self.driver({ builder in
            builder.table("in", Consumed.with(.string, .string)).toStream().to("out", Produced.with(.string, .string))
        }, commitInterval: .seconds(10))
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("a", "1", timestamp: 1)
        try input.pipeInput("b", "1", timestamp: 2)
        try input.pipeInput("a", "2", timestamp: 3)
        try input.pipeInput("a", "3", timestamp: 4)
        #expect(try updates(driver).isEmpty)
        try driver.advanceWallClockTime(.seconds(5))
        #expect(try updates(driver).isEmpty)
        try driver.advanceWallClockTime(.seconds(5))
        // One update per key, in the order of their last write, each with its last timestamp.
        #expect(try updates(driver) == ["b=1@2", "a=3@4"])
        try input.pipeInput("b", "2", timestamp: 5)
        try driver.commit()
        #expect(try updates(driver) == ["b=2@5"])
    }

    @Test func withoutCachingEveryUpdateIsEmitted() throws {
        let driver = try self.driver({ builder in
            builder.table("in", Consumed.with(.string, .string), Materialized.as("uncached").withCachingDisabled())
                .toStream().to("out", Produced.with(.string, .string))
        }, commitInterval: .seconds(10))
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("a", "1", timestamp: 1)
        try input.pipeInput("a", "2", timestamp: 2)
        #expect(try updates(driver) == ["a=1@1", "a=2@2"])
    }

    @Test func inMemoryTablesBehaveTheSame() throws {
        let builder = StreamsBuilder(defaultStoreType: .inMemory)
        builder.table("in", Consumed.with(.string, .string), Materialized.as("mem")).toStream().to("out", Produced.with(.string, .string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("a", "1", timestamp: 1)
        try input.pipeTombstone("a", timestamp: 2)
        #expect(try updates(driver) == ["a=1@1", "a=null@2"])
        #expect(driver.getStateStore("mem")?.persistent == false)
    }
}

import Rivulet
import RivuletTestDriver
import Testing

@Suite struct StreamAggregationTests {
    @Test func countPerKey() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.optional(.string), .string))
            .groupByKey()
            .count(Materialized.as("counts").withKeySerde(.optional(.string)))
            .toStream().to("out", Produced.with(.optional(.string), .int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .optional(.string), valueSerde: .string)
        try input.pipeInput("a", "x", timestamp: 10)
        try input.pipeInput("b", "x", timestamp: 5)
        try input.pipeInput("a", "y", timestamp: 7)
        try input.pipeInput(nil, "keyless", timestamp: 8)  // null keys are not counted
        let out = try driver.createOutputTopic("out", keySerde: .optional(.string), valueSerde: .int64).readRecordsToList()
        #expect(out.map { "\($0.key ?? "null")=\($0.value)" } == ["a=1", "b=1", "a=2"])
        // An aggregate keeps the latest timestamp it has seen for the key: max(10, 7).
        #expect(out.map(\.timestamp) == [10, 5, 10])
    }

    @Test func reduceCombinesValues() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .int64))
            .groupByKey()
            .reduce(Materialized.as("max")) { current, value in max(current, value) }
            .toStream().to("out", Produced.with(.string, .int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .int64)
        for (key, value) in [("a", 3), ("a", 1), ("b", -4), ("a", 9)] as [(String, Int64)] { try input.pipeInput(key, value) }
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .int64).readKeyValuesToList()
                == [KeyValue("a", 3), KeyValue("a", 3), KeyValue("b", -4), KeyValue("a", 9)])
    }

    @Test func aggregateFoldsIntoAnotherType() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string))
            .groupByKey()
            .aggregate(Materialized.as("joined").withValueSerde(.string), initializer: { "" }) { _, value, aggregate in
                aggregate.isEmpty ? value : aggregate + "," + value
            }
            .toStream().to("out", Produced.with(.string, .string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        try input.pipeInput("k", "a")
        try input.pipeInput("k", "b")
        try input.pipeInput("j", "c")
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readKeyValuesToMap() == ["k": "a,b", "j": "c"])
        #expect(try #require(driver.getKeyValueStore("joined", keyType: String.self, valueType: String.self)).get("k") == "a,b")
    }

    @Test func groupByANewKeyRepartitions() throws {
        let builder = StreamsBuilder()
        builder.stream("purchases", Consumed.with(.string, .string))
            .groupBy(Grouped.as("by-item")) { _, item in item }
            .count(Materialized.as("item-counts").withKeySerde(.string))
            .toStream().to("out", Produced.with(.string, .int64))
        let topology = try builder.build()
        #expect(topology.internalTopics(applicationId: "shop").map(\.name) == ["shop-by-item-repartition", "shop-item-counts-changelog"])
        let driver = try TopologyTestDriver(topology, config: StreamsConfig(applicationId: "shop"))
        defer { try? driver.close() }
        let input = driver.createInputTopic("purchases", keySerde: .string, valueSerde: .string)
        try input.pipeInput("alice", "tea")
        try input.pipeInput("bob", "tea")
        try input.pipeInput("alice", "cake")
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .int64).readKeyValuesToList()
                == [KeyValue("tea", 1), KeyValue("tea", 2), KeyValue("cake", 1)])
        #expect(driver.producedTopicNames.isSuperset(of: ["shop-by-item-repartition", "shop-item-counts-changelog"]))
    }

    @Test func cachingFoldsAggregatesBetweenCommits() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string)).groupByKey().count().toStream().to("out", Produced.with(.string, .int64))
        let driver = try TopologyTestDriver(try builder.build(), commitInterval: .seconds(30))
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        for key in ["a", "b", "a", "a", "b", "c"] { try input.pipeInput(key, "x") }
        let out = driver.createOutputTopic("out", keySerde: .string, valueSerde: .int64)
        #expect(out.isEmpty)
        try driver.advanceWallClockTime(.seconds(30))
        #expect(try out.readKeyValuesToList() == [KeyValue("a", 3), KeyValue("b", 2), KeyValue("c", 1)])
    }

    @Test func missingSerdesAreReportedByBuild() throws {
        struct NotCodable {}
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string))
            .mapValues { _ in NotCodable() }
            .groupBy { key, _ in key + "!" }
            .count()
        #expect(throws: TopologyError.self) { try builder.build() }
    }
}

@Suite struct TableAggregationTests {
    /// Users move between regions; the count per region follows: the old region loses the user.
    @Test func countWithAdderAndSubtractor() throws {
        let builder = StreamsBuilder()
        builder.table("user-regions", Consumed.with(.string, .string))
            .groupBy(Grouped.with(.string, .string)) { user, region in (region, user) }
            .count(Materialized.as("users-per-region"))
            .toStream().to("out", Produced.with(.string, .int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("user-regions", keySerde: .string, valueSerde: .string)
        try input.pipeInput("alice", "eu", timestamp: 1)
        try input.pipeInput("bob", "eu", timestamp: 2)
        try input.pipeInput("alice", "us", timestamp: 3)   // eu loses alice, us gains her
        try input.pipeInput("alice", "us", timestamp: 4)   // same region: -1 then +1 on us
        try input.pipeTombstone("bob", timestamp: 5)        // eu loses bob
        let out = try driver.createOutputTopic("out", keySerde: .string, valueSerde: .optional(.int64)).readKeyValuesToList()
        #expect(out == [
            KeyValue("eu", 1), KeyValue("eu", 2),
            KeyValue("eu", 1), KeyValue("us", 1),
            KeyValue("us", 1),
            KeyValue("eu", 0),
        ])
        let store = try #require(driver.getKeyValueStore("users-per-region", keyType: String.self, valueType: Int64.self))
        #expect(try store.all().readAll() == [KeyValue("eu", 0), KeyValue("us", 1)])
    }

    @Test func reduceWithAdderAndSubtractor() throws {
        // Total balance per bank from account balances: a changed balance replaces the old one.
        let builder = StreamsBuilder()
        builder.table("balances", Consumed.with(.string, .int64))
            .groupBy(Grouped.with(.string, .int64)) { account, balance in (String(account.prefix(1)), balance) }
            .reduce(Materialized.as("bank-totals"), adder: { $0 + $1 }, subtractor: { $0 - $1 })
            .toStream().to("out", Produced.with(.string, .int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("balances", keySerde: .string, valueSerde: .int64)
        try input.pipeInput("a1", 100)
        try input.pipeInput("a2", 50)
        try input.pipeInput("b1", 7)
        try input.pipeInput("a1", 80)
        try input.pipeTombstone("a2")
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .int64).readKeyValuesToList()
                == [KeyValue("a", 100), KeyValue("a", 150), KeyValue("b", 7), KeyValue("a", 130), KeyValue("a", 80)])
    }

    @Test func aggregateWithAdderAndSubtractorAndRepartitionNaming() throws {
        let builder = StreamsBuilder()
        builder.table("items", Consumed.with(.string, .string))
            .groupBy(Grouped(name: "by-category", keySerde: .string, valueSerde: .string)) { item, category in (category, item) }
            .aggregate(Materialized.as("item-lists").withValueSerde(.string), initializer: { "" },
                       adder: { _, item, list in list.isEmpty ? item : list + "," + item },
                       subtractor: { _, item, list in list.split(separator: ",").filter { $0 != item }.joined(separator: ",") })
            .toStream().to("out", Produced.with(.string, .string))
        let topology = try builder.build()
        #expect(topology.internalTopics(applicationId: "inv").map(\.name) == [
            "inv-by-category-repartition", "inv-items-STATE-STORE-0000000000-changelog", "inv-item-lists-changelog",
        ])
        let driver = try TopologyTestDriver(topology)
        defer { try? driver.close() }
        let input = driver.createInputTopic("items", keySerde: .string, valueSerde: .string)
        try input.pipeInput("pen", "office")
        try input.pipeInput("tape", "office")
        try input.pipeInput("pen", "school")
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readKeyValuesToList()
                == [KeyValue("office", "pen"), KeyValue("office", "pen,tape"), KeyValue("office", "tape"), KeyValue("school", "pen")])
    }
}

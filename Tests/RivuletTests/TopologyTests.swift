import Rivulet
import Testing

@Suite struct TopologyDescriptionTests {
    @Test func wordCountDescribesLikeKafkaStreams() throws {
        let expected = """
        Topologies:
           Sub-topology: 0
            Source: KSTREAM-SOURCE-0000000000 (topics: [text-lines])
              --> KSTREAM-FLATMAPVALUES-0000000001
            Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])
              --> KSTREAM-KEY-SELECT-0000000002
              <-- KSTREAM-SOURCE-0000000000
            Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])
              --> KSTREAM-FILTER-0000000003
              <-- KSTREAM-FLATMAPVALUES-0000000001
            Processor: KSTREAM-FILTER-0000000003 (stores: [])
              --> KSTREAM-SINK-0000000004
              <-- KSTREAM-KEY-SELECT-0000000002
            Sink: KSTREAM-SINK-0000000004 (topic: counts-repartition)
              <-- KSTREAM-FILTER-0000000003

           Sub-topology: 1
            Source: KSTREAM-SOURCE-0000000005 (topics: [counts-repartition])
              --> KSTREAM-AGGREGATE-0000000006
            Processor: KSTREAM-AGGREGATE-0000000006 (stores: [counts])
              --> KTABLE-TOSTREAM-0000000007
              <-- KSTREAM-SOURCE-0000000005
            Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
              --> KSTREAM-SINK-0000000008
              <-- KSTREAM-AGGREGATE-0000000006
            Sink: KSTREAM-SINK-0000000008 (topic: word-counts)
              <-- KTABLE-TOSTREAM-0000000007


        """
        #expect(try WordCountTests.wordCountTopology().describe().description == expected)
    }

    @Test func processorAPITopologyWithBranchesAndAForeach() throws {
        var topology = Topology()
        try topology.addSource("in", topics: ["a", "b"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("router", { ParityRouter() }, parents: "in")
        try topology.addStateStore(Stores.keyValueStoreBuilder(.inMemory("counts"), keySerde: .string, valueSerde: .int64),
                                   connectedTo: ["router"])
        try topology.addSink("odd", topic: "odd-out", keySerde: .string, valueSerde: .string, parents: "router")
        try topology.addSink("even", topic: "even-out", keySerde: .string, valueSerde: .string, parents: "router")
        try topology.addSource("lonely", topics: ["c"], keySerde: .string, valueSerde: .string)
        let expected = """
        Topologies:
           Sub-topology: 0
            Source: in (topics: [a, b])
              --> router
            Processor: router (stores: [counts])
              --> even, odd
              <-- in
            Sink: even (topic: even-out)
              <-- router
            Sink: odd (topic: odd-out)
              <-- router

           Sub-topology: 1
            Source: lonely (topics: [c])
              --> none


        """
        #expect(topology.describe().description == expected)
        #expect(topology.subtopologies.map(\.storeNames) == [["counts"], []])
    }

    @Test func sharingAStoreJoinsSubtopologies() throws {
        var topology = Topology()
        try topology.addSource("s1", topics: ["one"], keySerde: .string, valueSerde: .string)
        try topology.addSource("s2", topics: ["two"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("p1", { ParityRouter() }, parents: "s1")
        try topology.addProcessor("p2", { ParityRouter() }, parents: "s2")
        #expect(topology.subtopologies.count == 2)
        try topology.addStateStore(Stores.keyValueStoreBuilder(.inMemory("counts"), keySerde: .string, valueSerde: .int64),
                                   connectedTo: ["p1", "p2"])
        #expect(topology.subtopologies.count == 1)
        #expect(topology.subtopologies[0].sourceTopics == [.external("one"), .external("two")])
    }
}

@Suite struct InternalTopicTests {
    @Test func wordCountNeedsARepartitionTopicAndAChangelog() throws {
        let topology = try WordCountTests.wordCountTopology()
        let topics = topology.internalTopics(applicationId: "wc")
        #expect(topics.map(\.name) == ["wc-counts-repartition", "wc-counts-changelog"])
        #expect(topics[0].kind == .repartition)
        #expect(topics[0].partitions == .maxOf(["text-lines"]))
        #expect(topics[0].configs["cleanup.policy"] == "delete")
        #expect(topics[1].kind == .changelog(store: "counts"))
        #expect(topics[1].partitions == .maxOf(["wc-counts-repartition"]))
        #expect(topics[1].configs["cleanup.policy"] == "compact")
        #expect(topology.sourceTopics(applicationId: "wc") == ["text-lines"])
        #expect(try topology.internalTopicPartitionCounts(applicationId: "wc", sourceTopicPartitions: ["text-lines": 6])
                == ["wc-counts-repartition": 6, "wc-counts-changelog": 6])
        #expect(throws: TopologyError.unknownPartitionCount(topic: "text-lines")) {
            try topology.internalTopicPartitionCounts(applicationId: "wc", sourceTopicPartitions: [:])
        }
    }

    @Test func repartitionCountsFlowThroughChainsAndExplicitCountsWin() throws {
        let builder = StreamsBuilder()
        builder.stream(["a", "b"], Consumed.with(.string, .string))
            .groupBy(Grouped.as("first")) { _, value in value }
            .count(Materialized.as("c1"))
            .toStream()
            .selectKey { key, _ in String(key.prefix(1)) }
            .repartition(Repartitioned.as("second").withNumberOfPartitions(3))
            .groupByKey(Grouped.as("unused"))
            .count(Materialized.as("c2"))
        let topology = try builder.build()
        let counts = try topology.internalTopicPartitionCounts(applicationId: "x", sourceTopicPartitions: ["a": 2, "b": 5])
        #expect(counts == [
            "x-first-repartition": 5,      // the larger of its upstream sources a (2) and b (5)
            "x-second-repartition": 3,     // explicit
            "x-c1-changelog": 5,           // one partition per task of its sub-topology
            "x-c2-changelog": 3,
        ])
    }

    @Test func joinedTopicsMustBeCopartitioned() throws {
        let builder = StreamsBuilder()
        let table = builder.table("users", Consumed.with(.string, .string), Materialized.as("users-store"))
        builder.stream("clicks", Consumed.with(.string, .string)).join(table) { c, u in c + u }.to("out")
        let topology = try builder.build()
        #expect(topology.copartitionGroups(applicationId: "app") == [["clicks", "users"]])
        #expect(try topology.internalTopicPartitionCounts(applicationId: "app", sourceTopicPartitions: ["clicks": 4, "users": 4])
                == ["app-users-store-changelog": 4])
        #expect(throws: TopologyError.copartitioning(topics: ["clicks", "users"], partitionCounts: ["clicks": 4, "users": 6])) {
            try topology.internalTopicPartitionCounts(applicationId: "app", sourceTopicPartitions: ["clicks": 4, "users": 6])
        }
    }

    @Test func repartitionTopicsTakeTheCountOfTheTopicsTheyAreJoinedWith() throws {
        let builder = StreamsBuilder()
        let table = builder.table("users", Consumed.with(.string, .string), Materialized.as("users-store"))
        builder.stream("clicks", Consumed.with(.string, .string))
            .selectKey { _, value in value }
            .join(table, Joined.as("j")) { c, u in c + u }
            .to("out")
        let topology = try builder.build()
        // clicks has 2 partitions, but its repartition topic is joined with users (8): 8 it is.
        #expect(try topology.internalTopicPartitionCounts(applicationId: "app", sourceTopicPartitions: ["clicks": 2, "users": 8])
                == ["app-j-repartition": 8, "app-users-store-changelog": 8])
    }

    @Test func explicitRepartitionCountsThatBreakCopartitioningAreRejected() throws {
        let builder = StreamsBuilder()
        let table = builder.table("users", Consumed.with(.string, .string), Materialized.as("users-store"))
        builder.stream("clicks", Consumed.with(.string, .string))
            .repartition(Repartitioned.as("r").withNumberOfPartitions(3))
            .join(table) { c, u in c + u }
            .to("out")
        #expect(throws: TopologyError.self) {
            try builder.build().internalTopicPartitionCounts(applicationId: "app", sourceTopicPartitions: ["clicks": 2, "users": 8])
        }
    }

    @Test func unloggedStoresHaveNoChangelog() throws {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .string)).groupByKey().count(Materialized.as("quiet").withLoggingDisabled())
        #expect(try builder.build().internalTopics(applicationId: "app").isEmpty)
    }
}

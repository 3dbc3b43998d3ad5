import Rivulet
import RivuletTestDriver
import Testing

@Suite struct StreamTableJoinTests {
    private func joinDriver(left: Bool) throws -> (TopologyTestDriver, TestInputTopic<String, String>, TestInputTopic<String, String>, TestOutputTopic<String, String>) {
        let builder = StreamsBuilder()
        let table = builder.table("users", Consumed.with(.string, .string))
        let clicks = builder.stream("clicks", Consumed.with(.string, .string))
        if left {
            clicks.leftJoin(table) { click, user in "\(click) by \(user ?? "unknown")" }.to("out")
        } else {
            clicks.join(table) { click, user in "\(click) by \(user)" }.to("out")
        }
        let driver = try TopologyTestDriver(try builder.build())
        return (driver,
                driver.createInputTopic("users", keySerde: .string, valueSerde: .string),
                driver.createInputTopic("clicks", keySerde: .string, valueSerde: .string),
                driver.createOutputTopic("out", keySerde: .string, valueSerde: .string))
    }

    @Test func innerJoinNeedsATableValueAndIgnoresLateTableUpdates() throws {
        let (driver, users, clicks, out) = try joinDriver(left: false)
        defer { try? driver.close() }
        try clicks.pipeInput("u1", "home", timestamp: 1)     // no user yet: dropped
        try users.pipeInput("u1", "alice", timestamp: 2)
        #expect(try out.readKeyValuesToList().isEmpty)        // a table update joins nothing by itself
        try clicks.pipeInput("u1", "cart", timestamp: 3)
        try users.pipeInput("u1", "alicia", timestamp: 4)    // late update: affects later clicks only
        try clicks.pipeInput("u1", "pay", timestamp: 5)
        try users.pipeTombstone("u1", timestamp: 6)
        try clicks.pipeInput("u1", "gone", timestamp: 7)     // user deleted: dropped
        let records = try out.readRecordsToList()
        #expect(records.map(\.value) == ["cart by alice", "pay by alicia"])
        #expect(records.map(\.timestamp) == [3, 5])          // the stream record's timestamp
    }

    @Test func leftJoinKeepsEveryStreamRecord() throws {
        let (driver, users, clicks, out) = try joinDriver(left: true)
        defer { try? driver.close() }
        try clicks.pipeInput("u1", "home", timestamp: 1)
        try users.pipeInput("u1", "bob", timestamp: 2)
        try clicks.pipeInput("u1", "cart", timestamp: 3)
        try users.pipeTombstone("u1", timestamp: 4)
        try clicks.pipeInput("u1", "pay", timestamp: 5)
        #expect(try out.readValuesToList() == ["home by unknown", "cart by bob", "pay by unknown"])
    }

    @Test func nullKeysAndValues() throws {
        // Optional key and value types let null keys and values through to the join.
        let builder2 = StreamsBuilder()
        let users = builder2.table("users2", Consumed.with(.optional(.string), .string))
        let stream = builder2.stream("clicks2", Consumed.with(.optional(.string), .optional(.string)))
        stream.join(users) { click, user in "\(click ?? "null") by \(user)" }.to("inner", Produced.with(.optional(.string), .string))
        stream.leftJoin(users) { click, user in "\(click ?? "null") by \(user ?? "unknown")" }.to("left", Produced.with(.optional(.string), .string))
        let driver = try TopologyTestDriver(try builder2.build())
        defer { try? driver.close() }
        try driver.createInputTopic("users2", keySerde: .optional(.string), valueSerde: .string).pipeInput("u", "carol", timestamp: 1)
        let input = driver.createInputTopic("clicks2", keySerde: .optional(.string), valueSerde: .optional(.string))
        try input.pipeInput("u", nil, timestamp: 2)      // null value: dropped by both joins
        try input.pipeInput(nil, "keyless", timestamp: 3) // null key: inner drops, left joins with nothing
        try input.pipeInput("u", "home", timestamp: 4)
        #expect(try driver.createOutputTopic("inner", keySerde: .optional(.string), valueSerde: .string).readValuesToList() == ["home by carol"])
        #expect(try driver.createOutputTopic("left", keySerde: .optional(.string), valueSerde: .string).readValuesToList() == ["keyless by unknown", "home by carol"])
    }

    @Test func aRekeyedStreamIsRepartitionedBeforeTheJoin() throws {
        let builder = StreamsBuilder()
        let table = builder.table("users", Consumed.with(.string, .string))
        builder.stream("clicks", Consumed.with(.string, .string))
            .selectKey { _, value in String(value.prefix(2)) }   // "u1:home" -> "u1"
            .join(table, Joined.as("clicks-by-user")) { click, user in "\(click)/\(user)" }
            .to("out")
        let topology = try builder.build()
        let internalTopics = topology.internalTopics(applicationId: "app").map(\.name)
        #expect(internalTopics.contains("app-clicks-by-user-repartition"))
        #expect(topology.copartitionGroups(applicationId: "app") == [["app-clicks-by-user-repartition", "users"]])
        let driver = try TopologyTestDriver(topology, config: StreamsConfig(applicationId: "app"))
        defer { try? driver.close() }
        try driver.createInputTopic("users", keySerde: .string, valueSerde: .string).pipeInput("u1", "dave", timestamp: 1)
        try driver.createInputTopic("clicks", keySerde: .string, valueSerde: .string).pipeInput("x", "u1:home", timestamp: 2)
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readKeyValuesToList() == [KeyValue("u1", "u1:home/dave")])
    }
}

@Suite struct TableTableJoinTests {
    private enum Kind { case inner, left, outer }

    /// Pipes a fixed script into two tables and returns the joined table's updates.
    private func run(_ kind: Kind) throws -> [String] {
        let builder = StreamsBuilder()
        let left = builder.table("left", Consumed.with(.string, .string))
        let right = builder.table("right", Consumed.with(.string, .string))
        let joined: KTable<String, String>
        switch kind {
        case .inner: joined = left.join(right) { l, r in "\(l)+\(r)" }
        case .left: joined = left.leftJoin(right) { l, r in "\(l)+\(r ?? "null")" }
        case .outer: joined = left.outerJoin(right) { l, r in "\(l ?? "null")+\(r ?? "null")" }
        }
        joined.toStream().to("out", Produced.with(.string, .string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let leftInput = driver.createInputTopic("left", keySerde: .string, valueSerde: .string)
        let rightInput = driver.createInputTopic("right", keySerde: .string, valueSerde: .string)
        try leftInput.pipeInput("k", "L1", timestamp: 1)
        try rightInput.pipeInput("k", "R1", timestamp: 2)
        try leftInput.pipeInput("k", "L2", timestamp: 3)
        try rightInput.pipeInput("j", "R9", timestamp: 4)
        try leftInput.pipeTombstone("k", timestamp: 5)
        try rightInput.pipeTombstone("k", timestamp: 6)
        return try driver.createOutputTopic("out", keySerde: .string, valueSerde: .optional(.string)).readRecordsToList()
            .map { "\($0.key)=\($0.value ?? "null")@\($0.timestamp)" }
    }

    @Test func innerJoin() throws {
        // k: L1 alone -> nothing; R1 arrives -> L1+R1; L2 -> L2+R1; j has no left row -> nothing;
        // left deleted -> delete; right deleted afterwards -> nothing left to delete.
        #expect(try run(.inner) == ["k=L1+R1@2", "k=L2+R1@3", "k=null@5"])
    }

    @Test func leftJoin() throws {
        // As inner, plus L1 alone -> L1+null; the right delete after the left delete changes nothing.
        #expect(try run(.left) == ["k=L1+null@1", "k=L1+R1@2", "k=L2+R1@3", "k=null@5"])
    }

    @Test func outerJoin() throws {
        // Every key present on either side: j appears from the right; after the left delete k is
        // null+R1, and after the right delete it is gone.
        #expect(try run(.outer) == ["k=L1+null@1", "k=L1+R1@2", "k=L2+R1@3", "j=null+R9@4", "k=null+R1@5", "k=null@6"])
    }

    @Test func joinedTableCanBeMaterializedAndJoinedAgain() throws {
        let builder = StreamsBuilder()
        let left = builder.table("left", Consumed.with(.string, .string))
        let right = builder.table("right", Consumed.with(.string, .string))
        let joined = left.join(right, Materialized.as("joined")) { l, r in l + r }
        builder.stream("probe", Consumed.with(.string, .string)).join(joined) { p, j in "\(p):\(j)" }.to("out")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        try driver.createInputTopic("left", keySerde: .string, valueSerde: .string).pipeInput("k", "a", timestamp: 1)
        try driver.createInputTopic("right", keySerde: .string, valueSerde: .string).pipeInput("k", "b", timestamp: 2)
        try driver.createInputTopic("probe", keySerde: .string, valueSerde: .string).pipeInput("k", "p", timestamp: 3)
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readValuesToList() == ["p:ab"])
        #expect(try #require(driver.getKeyValueStore("joined", keyType: String.self, valueType: String.self)).getWithTimestamp("k")
                == ValueAndTimestamp("ab", timestamp: 2))
    }

    @Test func unmaterializedJoinResultsCanBeLookedUp() throws {
        let builder = StreamsBuilder()
        let left = builder.table("left", Consumed.with(.string, .string))
        let right = builder.table("right", Consumed.with(.string, .string))
        let joined = left.leftJoin(right) { l, r in "\(l)|\(r ?? "-")" }
        builder.stream("probe", Consumed.with(.string, .string)).leftJoin(joined) { p, j in "\(p):\(j ?? "none")" }.to("out")
        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let probe = driver.createInputTopic("probe", keySerde: .string, valueSerde: .string)
        try probe.pipeInput("k", "1", timestamp: 1)
        try driver.createInputTopic("left", keySerde: .string, valueSerde: .string).pipeInput("k", "a", timestamp: 2)
        try probe.pipeInput("k", "2", timestamp: 3)
        try driver.createInputTopic("right", keySerde: .string, valueSerde: .string).pipeInput("k", "b", timestamp: 4)
        try probe.pipeInput("k", "3", timestamp: 5)
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readValuesToList() == ["1:none", "2:a|-", "3:a|b"])
    }
}

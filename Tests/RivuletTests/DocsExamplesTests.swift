import Rivulet
import RivuletTestDriver
import Testing

/// The examples of docs/streams.md, compiled and run, so the guide cannot drift from the code.
@Suite struct DocsExamplesTests {
    struct Order: Codable, Equatable {
        var customer: String
        var item: String
        var total: Double
    }

    struct User: Codable {
        var name: String
        var age: Int
    }

    @Test func streamsSection() throws {
        let builder = StreamsBuilder()
        let orders = builder.stream("orders", Consumed.with(.string, .json(Order.self)))
        orders.filter { _, order in order.total > 0 }
            .mapValues { order in order.total }
            .to("totals", Produced.with(.string, .double))
        orders.selectKey { _, order in order.customer }
            .peek { _, _ in }
            .to("orders-by-customer")
        let branches = orders.split(named: "size-")
            .branch(named: "large") { _, order in order.total >= 100 }
            .branch(named: "small") { _, order in order.total > 0 }
            .defaultBranch(named: "other")
        #expect(Set(branches.keys) == ["size-large", "size-small", "size-other"])
        branches["size-large"]!.to("large-orders")

        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let input = driver.createInputTopic("orders", keySerde: .string, valueSerde: .json(Order.self))
        try input.pipeInput("o1", Order(customer: "ann", item: "tv", total: 300))
        try input.pipeInput("o2", Order(customer: "ben", item: "pen", total: 2))
        #expect(try driver.createOutputTopic("totals", keySerde: .string, valueSerde: .double).readValuesToList() == [300, 2])
        #expect(try driver.createOutputTopic("orders-by-customer", keySerde: .string, valueSerde: .json(Order.self))
                .readKeyValuesToList().map(\.key) == ["ann", "ben"])
        #expect(try driver.createOutputTopic("large-orders", keySerde: .string, valueSerde: .json(Order.self))
                .readKeyValuesToList().map(\.key) == ["o1"])
    }

    @Test func tablesAndAggregationsSections() throws {
        let builder = StreamsBuilder()
        let users = builder.table("users", Consumed.with(.string, .json(User.self)), Materialized.as("users"))
        let adults = users.filter { _, user in user.age >= 18 }
        adults.mapValues { user in user.name }.toStream().to("adult-names", Produced.with(.string, .string))

        let purchases = builder.stream("purchases", Consumed.with(.string, .json(Order.self)))
        purchases.groupBy { _, purchase in purchase.item }
            .aggregate(Materialized.as("revenue").withValueSerde(.double), initializer: { 0 }) { _, purchase, total in
                total + purchase.total
            }
        let clicks = builder.stream("clicks", Consumed.with(.string, .string))
        clicks.groupByKey().count(Materialized.as("clicks-per-user"))

        let driver = try TopologyTestDriver(try builder.build())
        defer { try? driver.close() }
        let userInput = driver.createInputTopic("users", keySerde: .string, valueSerde: .json(User.self))
        try userInput.pipeInput("u1", User(name: "Ann", age: 30))
        try userInput.pipeInput("u2", User(name: "Kid", age: 9))
        try userInput.pipeInput("u1", User(name: "Ann", age: 17))
        #expect(try driver.createOutputTopic("adult-names", keySerde: .string, valueSerde: .optional(.string)).readKeyValuesToList()
                == [KeyValue("u1", "Ann"), KeyValue("u1", nil)])
        let purchaseInput = driver.createInputTopic("purchases", keySerde: .string, valueSerde: .json(Order.self))
        try purchaseInput.pipeInput("p1", Order(customer: "ann", item: "tea", total: 2.5))
        try purchaseInput.pipeInput("p2", Order(customer: "ben", item: "tea", total: 1.5))
        #expect(try driver.getKeyValueStore("revenue", keyType: String.self, valueType: Double.self)?.get("tea") == 4.0)
        try driver.createInputTopic("clicks", keySerde: .string, valueSerde: .string).pipeInput("ann", "home")
        #expect(try driver.getKeyValueStore("clicks-per-user", keyType: String.self, valueType: Int64.self)?.get("ann") == 1)
    }

    final class Deduplicate: Processor {
        typealias KeyIn = String
        typealias ValueIn = String
        typealias KeyOut = String
        typealias ValueOut = String

        private var context: ProcessorContext<String, String>!
        private var seen: TypedKeyValueStore<String, Int64>!

        func initialize(context: ProcessorContext<String, String>) throws {
            self.context = context
            seen = try context.keyValueStore(named: "seen")
            context.schedule(interval: .seconds(60), type: .wallClockTime) { _ in }
        }

        func process(_ record: StreamRecord<String, String>) throws {
            guard try seen.putIfAbsent(record.value, record.timestamp) == nil else { return }
            try context.forward(record)
        }
    }

    @Test func processorAPISection() throws {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], keySerde: .string, valueSerde: .string)
        try topology.addProcessor("dedup", { Deduplicate() }, parents: "source")
        try topology.addStateStore(
            Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("seen"), keySerde: .string, valueSerde: .int64),
            connectedTo: ["dedup"])
        try topology.addSink("sink", topic: "out", keySerde: .string, valueSerde: .string, parents: "dedup")
        let driver = try TopologyTestDriver(topology)
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .string)
        for (key, value) in [("1", "a"), ("2", "a"), ("3", "b")] { try input.pipeInput(key, value, timestamp: 7) }
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .string).readKeyValuesToList().map(\.key) == ["1", "3"])
        #expect(try driver.getKeyValueStore("seen", keyType: String.self, valueType: Int64.self)?.get("a") == 7)
    }

    @Test func topologiesSection() throws {
        let topology = try WordCountTests.wordCountTopology()
        #expect(topology.sourceTopics(applicationId: "wordcount") == ["text-lines"])
        #expect(try topology.internalTopicPartitionCounts(applicationId: "wordcount", sourceTopicPartitions: ["text-lines": 6])
                == ["wordcount-counts-repartition": 6, "wordcount-counts-changelog": 6])
    }
}

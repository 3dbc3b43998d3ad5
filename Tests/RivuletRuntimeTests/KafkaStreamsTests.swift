import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore
import Rivulet
import Synchronization
import Testing

/// The streams runtime against an in-process dev broker: every test reads results back with a
/// plain consumer and compares them with what a direct computation gives.
@Suite(.serialized) struct KafkaStreamsTests {
    @Test func wordCountGivesTheCountsOfAPlainCount() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("text-lines", partitions: 3)
        try await kafka.createTopic("word-counts", partitions: 3)
        let (lines, expected) = sampleLines(500)
        try await kafka.produce("text-lines", lines.map { (key: nil, value: $0) })

        var config = kafka.config("wordcount")
        config.numStreamThreads = 2
        let streams = KafkaStreams(try wordCountTopology(), config)
        let states = Mutex<[KafkaStreams.State]>([])
        streams.setStateListener { new, _ in states.withLock { $0.append(new) } }
        try await streams.start()

        let counted = try await eventually { try await kafka.latestCounts("word-counts") == expected }
        #expect(counted)
        #expect(try await eventually { streams.state == .running })
        // Both threads took part: the assignor spread the 6 tasks (2 sub-topologies x 3 partitions).
        let tasks = streams.localThreadsMetadata().map(\.activeTasks.count)
        #expect(tasks == [3, 3])
        // The internal topics were created with the partition counts the topology needs.
        let internalTopics = try await kafka.admin.describeTopics(["wordcount-counts-repartition", "wordcount-counts-changelog"])
        #expect(internalTopics.map(\.partitions.count) == [3, 3])

        await streams.close()
        #expect(streams.state == .notRunning)
        #expect(states.withLock { $0 } .starts(with: [.rebalancing]))
        #expect(states.withLock { $0 }.suffix(2) == [.pendingShutdown, .notRunning])
    }

    @Test func joiningTopicsWithDifferentPartitionCountsFailsAtStart() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("clicks", partitions: 2)
        try await kafka.createTopic("users", partitions: 3)
        let builder = StreamsBuilder()
        let users = builder.table("users", Consumed.with(.string, .string))
        builder.stream("clicks", Consumed.with(.string, .string))
            .join(users) { click, user in "\(click) by \(user)" }
            .to("enriched-clicks", Produced.with(.string, .string))
        let streams = KafkaStreams(try builder.build(), kafka.config("clicks-app"))

        await #expect {
            try await streams.start()
        } throws: { error in
            let message = "\(error)"
            return message.contains("clicks: 2") && message.contains("users: 3")
        }
        #expect(streams.state == .error)
        // Nothing was created for an application that cannot run.
        let topics = try await kafka.admin.listTopics()
        #expect(!topics.contains { $0.hasPrefix("clicks-app-") })
        await streams.close()
    }

    @Test func selectKeyBeforeAJoinRepartitionsSoEveryOrderMeetsItsUser() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        // Orders are keyed by order id in 2 partitions; users by user id in 3.
        try await kafka.createTopic("orders", partitions: 2)
        try await kafka.createTopic("users", partitions: 3)
        try await kafka.createTopic("orders-with-users", partitions: 3)
        let userNames = (0..<20).map { ("user-\($0)", "name-\($0 * 7)") }
        try await kafka.produce("users", userNames.map { (key: $0.0, value: $0.1) }, timestamp: 1_000)

        let builder = StreamsBuilder()
        let users = builder.table("users", Consumed.with(.string, .string), Materialized.as("users"))
        builder.stream("orders", Consumed.with(.string, .string))
            .selectKey { _, order in String(order.split(separator: ",")[0]) }
            .join(users) { order, name in "\(order.split(separator: ",")[1])@\(name)" }
            .to("orders-with-users", Produced.with(.string, .string))
        let streams = KafkaStreams(try builder.build(), kafka.config("orders-app"))
        try await streams.start()
        // The repartition topic takes the partition count of the table it is joined with.
        let repartition = try await kafka.admin.listTopics().filter { $0.hasPrefix("orders-app-") && $0.hasSuffix("-repartition") }
        #expect(repartition.count == 1)
        #expect(try await kafka.admin.describeTopics(repartition)[0].partitions.count == 3)
        // The table is loaded before orders arrive (stream-table joins see the table as of each order).
        #expect(try await eventually { try await kafka.caughtUp(group: "orders-app", topics: ["users"]) })

        let orders = (0..<200).map { i in (key: "order-\(i)" as String?, value: "user-\(i % 20),\(i)") }
        try await kafka.produce("orders", orders, timestamp: 2_000)
        // Orders of one user come from both order partitions, so only the set is defined.
        let expected = Set((0..<200).map { i in "user-\(i % 20) \(i)@name-\((i % 20) * 7)" })
        let joined = try await eventually {
            let records = try await kafka.readAll("orders-with-users")
            return records.count == 200 && Set(records.map { "\(String(buffer: $0.key!)) \(String(buffer: $0.value!))" }) == expected
        }
        #expect(joined)
        await streams.close()
    }

    @Test func aLostStateDirectoryIsRestoredFromTheChangelogAndCountsGoOn() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("text-lines", partitions: 2)
        try await kafka.createTopic("word-counts", partitions: 2)
        let stateDirectory = "\(kafka.directory)/state"
        let first = sampleLines(300, seed: 7)
        try await kafka.produce("text-lines", first.lines.map { (key: nil, value: $0) })

        let streams = KafkaStreams(try wordCountTopology(), kafka.config("restore-app", stateDirectory: stateDirectory))
        try await streams.start()
        #expect(try await eventually { try await kafka.latestCounts("word-counts") == first.counts })
        await streams.close()
        // The checkpoint was written on close, so a restart would replay nothing; without the
        // directory, everything must come back from the changelog.
        #expect(FileManager.default.fileExists(atPath: "\(stateDirectory)/restore-app/1_0/.checkpoint"))
        try FileManager.default.removeItem(atPath: stateDirectory)

        let second = sampleLines(300, seed: 11)
        try await kafka.produce("text-lines", second.lines.map { (key: nil, value: $0) })
        var expected = first.counts
        expected.merge(second.counts, uniquingKeysWith: +)
        let restarted = KafkaStreams(try wordCountTopology(), kafka.config("restore-app", stateDirectory: stateDirectory))
        try await restarted.start()
        #expect(try await eventually { try await kafka.latestCounts("word-counts") == expected })
        await restarted.close()
    }

    @Test func twoInstancesShareTasksAndOneTakesOverWhenTheOtherCloses() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("text-lines", partitions: 4)
        try await kafka.createTopic("word-counts", partitions: 4)
        let first = sampleLines(400, seed: 3)
        try await kafka.produce("text-lines", first.lines.map { (key: nil, value: $0) })

        let a = KafkaStreams(try wordCountTopology(), kafka.config("shared-app"))
        let b = KafkaStreams(try wordCountTopology(), kafka.config("shared-app"))
        try await a.start()
        try await b.start()
        func tasks(_ streams: KafkaStreams) -> Set<TaskId> { Set(streams.localThreadsMetadata().flatMap(\.activeTasks)) }
        let split = try await eventually {
            a.state == .running && b.state == .running && tasks(a).count == 4 && tasks(b).count == 4
        }
        #expect(split)
        #expect(tasks(a).isDisjoint(with: tasks(b)))
        #expect(try await eventually { try await kafka.latestCounts("word-counts") == first.counts })

        await a.close()
        #expect(try await eventually { b.state == .running && tasks(b).count == 8 })
        let second = sampleLines(400, seed: 5)
        try await kafka.produce("text-lines", second.lines.map { (key: nil, value: $0) })
        var expected = first.counts
        expected.merge(second.counts, uniquingKeysWith: +)
        #expect(try await eventually { try await kafka.latestCounts("word-counts") == expected })
        await b.close()
    }
}

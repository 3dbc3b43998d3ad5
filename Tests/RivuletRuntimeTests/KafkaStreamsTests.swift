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

    @Test func aRestartReplaysOnlyTheTailAndALostStateDirectoryIsRestoredFromTheChangelog() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("text-lines", partitions: 2)
        try await kafka.createTopic("word-counts", partitions: 2)
        let stateDirectory = "\(kafka.directory)/state"
        var expected: [String: Int64] = [:]

        /// Runs the app over one more batch of lines; returns (start offset, records restored) per changelog partition.
        func runBatch(seed: Int) async throws -> [TopicPartition: (start: Int64, restored: Int)] {
            let batch = sampleLines(300, seed: seed)
            try await kafka.produce("text-lines", batch.lines.map { (key: nil, value: $0) })
            expected.merge(batch.counts, uniquingKeysWith: +)
            let restores = Mutex<[TopicPartition: (start: Int64, restored: Int)]>([:])
            let streams = KafkaStreams(try wordCountTopology(), kafka.config("restore-app", stateDirectory: stateDirectory))
            streams.setGlobalStateRestoreListener(StateRestoreListener(
                onRestoreStart: { partition, start, _ in restores.withLock { $0[partition] = (start, 0) } },
                onRestoreEnd: { partition, restored in restores.withLock { $0[partition]?.restored = restored } }))
            try await streams.start()
            let counted = try await eventually { try await kafka.latestCounts("word-counts") == expected }
            #expect(counted)
            await streams.close()
            return restores.withLock { $0 }
        }

        #expect(try await runBatch(seed: 7).isEmpty)   // nothing to restore yet
        // Closing wrote checkpoints: a restart on the same state directory replays nothing.
        #expect(FileManager.default.fileExists(atPath: "\(stateDirectory)/restore-app/1_0/.checkpoint"))
        #expect(try await runBatch(seed: 11).isEmpty)
        // A checkpoint 5 offsets behind the changelog's end (as after a crash between two
        // commits): only the records from there on are replayed (compaction may have removed some).
        let checkpointPath = "\(stateDirectory)/restore-app/1_1/.checkpoint"
        var lines = try String(contentsOfFile: checkpointPath, encoding: .utf8).split(separator: "\n").map(String.init)
        var fields = lines[2].split(separator: " ").map(String.init)
        let checkpointed = try #require(Int64(fields[2]))
        // Not below 0: a checkpoint below the changelog's log start is invalid and restores from scratch.
        let rewound = max(0, checkpointed - 5)
        fields[2] = String(rewound)
        lines[2] = fields.joined(separator: " ")
        try (lines.joined(separator: "\n") + "\n").write(toFile: checkpointPath, atomically: true, encoding: .utf8)
        let tail = try await runBatch(seed: 12)
        let changelog1 = TopicPartition("restore-app-counts-changelog", 1)
        #expect(tail.keys.sorted() == [changelog1])
        #expect(tail[changelog1]?.start == rewound)
        let inTail = try await kafka.readAll(changelog1.topic).filter { $0.partition == 1 && (rewound..<checkpointed).contains($0.offset) }.count
        #expect(inTail > 0 && inTail <= 5)
        #expect(tail[changelog1]?.restored == inTail)
        // Without the directory, the counts come back from the changelog, from its beginning.
        try KafkaStreams(try wordCountTopology(), kafka.config("restore-app", stateDirectory: stateDirectory)).cleanUp()
        #expect(!FileManager.default.fileExists(atPath: "\(stateDirectory)/restore-app"))
        let restored = try await runBatch(seed: 13)
        #expect(Set(restored.keys) == [TopicPartition("restore-app-counts-changelog", 0), TopicPartition("restore-app-counts-changelog", 1)])
        #expect(restored.values.allSatisfy { $0.start == 0 && $0.restored > 0 })
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

    struct PoisonPill: Error {}

    @Test func aProcessorFailureStopsTheApplicationInTheErrorState() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("commands", partitions: 2)
        try await kafka.createTopic("results", partitions: 2)
        let builder = StreamsBuilder()
        builder.stream("commands", Consumed.with(.string, .string))
            .mapValues { command -> String in
                if command == "explode" { throw PoisonPill() }
                return command.uppercased()
            }
            .to("results", Produced.with(.string, .string))
        var config = kafka.config("failing-app")
        config.numStreamThreads = 2
        let streams = KafkaStreams(try builder.build(), config)
        let states = Mutex<[KafkaStreams.State]>([])
        streams.setStateListener { new, _ in states.withLock { $0.append(new) } }
        try await streams.start()
        try await kafka.produce("commands", [(key: "a", value: "hello"), (key: "b", value: "explode")])

        #expect(try await eventually { streams.state == .error })
        #expect(states.withLock { $0 }.contains(.pendingError))
        guard case .processing(let node, let underlying)? = streams.failure as? StreamsError else {
            Issue.record("expected a processing failure, got \(String(describing: streams.failure))")
            return
        }
        #expect(node.contains("MAPVALUES"))
        #expect(underlying is PoisonPill)
        // Every thread stopped and left the group.
        #expect(streams.localThreadsMetadata().allSatisfy { $0.state == .dead })
        #expect(try await eventually { try await kafka.admin.describeGroup("failing-app").members.isEmpty })
        await streams.close()
        #expect(streams.state == .error)
    }

    @Test func theApplicationRidesOutABrokerRestart() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("text-lines", partitions: 2)
        try await kafka.createTopic("word-counts", partitions: 2)
        let first = sampleLines(200, seed: 21)
        try await kafka.produce("text-lines", first.lines.map { (key: nil, value: $0) })
        let streams = KafkaStreams(try wordCountTopology(), kafka.config("bounce-app"))
        let states = Mutex<[KafkaStreams.State]>([])
        streams.setStateListener { new, _ in states.withLock { $0.append(new) } }
        try await streams.start()
        #expect(try await eventually { try await kafka.latestCounts("word-counts") == first.counts })
        #expect(try await eventually { try await kafka.caughtUp(group: "bounce-app", topics: ["text-lines"]) })

        // The dev broker keeps committed offsets but not group membership across a restart: the
        // member finds itself unknown, closes its tasks, rejoins, and restores them.
        let before = states.withLock { $0.count }
        try await kafka.restartBroker()
        #expect(try await eventually(timeout: .seconds(30)) {
            states.withLock { Array($0.dropFirst(before)) }.contains(.rebalancing) && streams.state == .running
        })
        let second = sampleLines(200, seed: 22)
        try await kafka.produce("text-lines", second.lines.map { (key: nil, value: $0) })
        var expected = first.counts
        expected.merge(second.counts, uniquingKeysWith: +)
        #expect(try await eventually { try await kafka.latestCounts("word-counts") == expected })
        #expect(streams.state == .running, "\(String(describing: streams.failure))")
        await streams.close()
        #expect(streams.state == .notRunning)
    }
}

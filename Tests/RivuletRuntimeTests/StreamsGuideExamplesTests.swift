import Foundation
import Logging
import Rivulet
import ServiceLifecycle
import Synchronization
import Testing

/// The examples of docs/streams.md's "Running against Kafka", run against an in-process broker.
@Suite(.serialized) struct StreamsGuideExamplesTests {
    @Test func startAndClose() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("text-lines", partitions: 2)
        try await kafka.createTopic("word-counts", partitions: 2)
        let (lines, expected) = sampleLines(200)
        try await kafka.produce("text-lines", lines.map { (key: nil, value: $0) })
        let topology = try wordCountTopology()

        var config = StreamsConfig(applicationId: "wordcount", bootstrapServers: kafka.bootstrap)
        config.numStreamThreads = 2
        config.stateDirectory = "\(kafka.directory)/wordcount"
        config.commitInterval = .milliseconds(100)   // the guide says 5 s: the test need not wait so long

        let streams = KafkaStreams(topology, config)
        let transitions = Mutex<[String]>([])
        streams.setStateListener { newState, oldState in transitions.withLock { $0.append("\(oldState) -> \(newState)") } }
        try await streams.start()
        #expect(try await eventually { try await kafka.latestCounts("word-counts") == expected })
        // Both threads have their tasks (the counts may be complete before the second joined).
        #expect(try await eventually { streams.state == .running })
        await streams.close()

        let seen = transitions.withLock { $0 }
        #expect(seen.first == "created -> rebalancing")
        #expect(seen.contains("rebalancing -> running"))
        #expect(seen.suffix(2) == ["running -> pendingShutdown", "pendingShutdown -> notRunning"])
    }

    @Test func runAsAServiceUntilGracefulShutdown() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("text-lines", partitions: 2)
        try await kafka.createTopic("word-counts", partitions: 2)
        let (lines, expected) = sampleLines(200, seed: 2)
        try await kafka.produce("text-lines", lines.map { (key: nil, value: $0) })
        let streams = KafkaStreams(try wordCountTopology(), kafka.config("wordcount-service"))
        let logger = Logger(label: "test")

        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: streams)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let running = Task { try await group.run() }
        #expect(try await eventually { try await kafka.latestCounts("word-counts") == expected })
        #expect(try await eventually { streams.state == .running })
        // What SIGTERM does: commit, close the tasks, leave the group.
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(streams.state == .notRunning)
        #expect(try await kafka.caughtUp(group: "wordcount-service", topics: ["text-lines", "wordcount-service-counts-repartition"]))
        let members = try await kafka.admin.describeGroup("wordcount-service").members
        #expect(members.isEmpty)
    }
}

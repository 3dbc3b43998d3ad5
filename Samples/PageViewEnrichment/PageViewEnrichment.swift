// Page views enriched with user profiles: a stream-table join on a Kafka cluster.
// `swift run PageViewEnrichment --bootstrap localhost:9092`; see Samples/PageViewEnrichment/README.md.
import ArgumentParser
import Logging
import Rivulet
import ServiceLifecycle

@main
struct PageViewEnrichment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Joins page views (keyed by user id) with the latest profile of their user, writing enriched views.")

    @Option(help: "Kafka bootstrap servers, host:port[,host:port...].")
    var bootstrap = "localhost:9092"
    @Option(name: .customLong("application-id"), help: "The application id: consumer group, internal topic prefix, state folder.")
    var applicationId = "pageview-enrichment"
    @Option(name: .customLong("page-views"), help: "Topic of page views (key: user id, value: JSON {page, durationMs}).")
    var pageViews = "page-views"
    @Option(help: "Topic of user profiles (key: user id, value: JSON {name, region}); same partition count as the page views.")
    var profiles = "user-profiles"
    @Option(help: "Topic of enriched page views (key: user id, value: JSON).")
    var output = "enriched-page-views"
    @Option(name: .customLong("state-dir"), help: "Where stores and checkpoints live.")
    var stateDir = "/tmp/rivulet-streams"
    @Option(help: "Stream threads in this process.")
    var threads = 1
    @Option(name: .customLong("commit-interval-ms"), help: "How often offsets are committed and caches flushed.")
    var commitIntervalMs = 30_000
    @Option(name: .customLong("session-timeout-ms"), help: "How long the group waits for a crashed instance.")
    var sessionTimeoutMs = 45_000
    @Option(name: .customLong("report-tasks"), help: "A file to write this instance's state and tasks to (JSON) on every state change.")
    var reportTasks: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "pageview-enrichment")
        var config = StreamsConfig(applicationId: applicationId, bootstrapServers: bootstrap)
        config.numStreamThreads = threads
        config.stateDirectory = stateDir
        config.commitInterval = .milliseconds(commitIntervalMs)
        config.sessionTimeout = .milliseconds(sessionTimeoutMs)
        config.heartbeatInterval = .milliseconds(max(100, min(3000, sessionTimeoutMs / 10)))
        let topology = try PageViewTopology.build(pageViews: pageViews, profiles: profiles, output: output)
        let streams = KafkaStreams(topology, config, logger: logger)
        let report = TaskReport(path: reportTasks)
        streams.setStateListener { new, _ in report.write(streams, state: new) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: streams)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

import ArgumentParser
import Logging
import Rivulet
import ServiceLifecycle

/// The flags every sample streams application shares, and how a sample runs one instance
/// (a worker) of its application: configured from these flags, under a `ServiceGroup` that
/// closes it on SIGTERM or SIGINT, with its state and tasks reported on every change.
/// Each sample adds its own `--application-id` and topic flags.
public struct StreamsWorkerOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers, host:port[,host:port...].")
    public var bootstrap = "localhost:9092"
    @Option(name: .customLong("state-dir"), help: "Where stores and checkpoints live.")
    public var stateDir = "/tmp/rivulet-streams"
    @Option(help: "Stream threads in this process.")
    public var threads = 1
    @Option(name: .customLong("commit-interval-ms"), help: "How often offsets are committed and caches flushed.")
    public var commitIntervalMs = 30_000
    @Option(name: .customLong("session-timeout-ms"), help: "How long the group waits for a crashed instance.")
    public var sessionTimeoutMs = 45_000
    @Option(name: .customLong("report-tasks"), help: "A file to write this instance's state and tasks to (JSON) on every state change.")
    public var reportTasks: String?

    public init() {}

    /// Sends log messages of level info and above to stderr; returns the sample's logger.
    public static func bootstrapLogging(label: String) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        return Logger(label: label)
    }

    /// The application's configuration from these flags. The heartbeat is a tenth of the
    /// session timeout (between 100 ms and 3 s), so a short session timeout still sees
    /// several heartbeats.
    public func streamsConfig(applicationId: String) -> StreamsConfig {
        var config = StreamsConfig(applicationId: applicationId, bootstrapServers: bootstrap)
        config.numStreamThreads = threads
        config.stateDirectory = stateDir
        config.commitInterval = .milliseconds(commitIntervalMs)
        config.sessionTimeout = .milliseconds(sessionTimeoutMs)
        config.heartbeatInterval = .milliseconds(max(100, min(3000, sessionTimeoutMs / 10)))
        return config
    }

    /// Runs `streams` until SIGTERM or SIGINT closes it, reporting its state and tasks
    /// (`--report-tasks`) on every state change.
    public func run(_ streams: KafkaStreams, logger: Logger) async throws {
        let report = TaskReport(path: reportTasks)
        streams.setStateListener { new, _ in report.write(streams, state: new) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: streams)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

// Word count against a Kafka cluster: `swift run WordCount --bootstrap localhost:9092`.
// `swift run WordCount --demo` starts a dev broker in this process, feeds it sample lines and
// prints the counts. See Samples/WordCount/README.md.
import ArgumentParser
import Logging
import Rivulet
import ServiceLifecycle

@main
struct WordCount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Counts the words of the lines of a topic, writing each word's running count to another topic.")

    @Option(help: "Kafka bootstrap servers, host:port[,host:port...].")
    var bootstrap = "localhost:9092"
    @Option(name: .customLong("application-id"), help: "The application id: consumer group, internal topic prefix, state folder.")
    var applicationId = "wordcount"
    @Option(help: "Topic of text lines.")
    var input = "text-lines"
    @Option(help: "Topic of word counts (key: word, value: 64-bit big-endian count).")
    var output = "word-counts"
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
    @Flag(help: "Start a dev broker in this process, feed it sample lines, print the counts and exit.")
    var demo = false

    func run() async throws {
        if demo {
            try await WordCountDemo.run()
            return
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "wordcount")
        var config = StreamsConfig(applicationId: applicationId, bootstrapServers: bootstrap)
        config.numStreamThreads = threads
        config.stateDirectory = stateDir
        config.commitInterval = .milliseconds(commitIntervalMs)
        config.sessionTimeout = .milliseconds(sessionTimeoutMs)
        config.heartbeatInterval = .milliseconds(max(100, min(3000, sessionTimeoutMs / 10)))
        let streams = KafkaStreams(try WordCountTopology.build(input: input, output: output), config, logger: logger)
        let report = TaskReport(path: reportTasks)
        streams.setStateListener { new, _ in report.write(streams, state: new) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: streams)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

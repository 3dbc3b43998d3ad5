// Word count against a Kafka cluster: `swift run WordCount --bootstrap localhost:9092`.
// `swift run WordCount --demo` starts a dev broker in this process, feeds it sample lines and
// prints the counts. See Samples/WordCount/README.md.
import ArgumentParser
import Rivulet
import SampleSupport

@main
struct WordCount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Counts the words of the lines of a topic, writing each word's running count to another topic.")

    /// `--bootstrap`, `--state-dir`, `--threads`, `--commit-interval-ms`, `--session-timeout-ms`,
    /// `--report-tasks`: the flags every sample worker shares (Samples/SampleSupport).
    @OptionGroup var worker: StreamsWorkerOptions
    @Option(name: .customLong("application-id"), help: "The application id: consumer group, internal topic prefix, state folder.")
    var applicationId = "wordcount"
    @Option(help: "Topic of text lines.")
    var input = "text-lines"
    @Option(help: "Topic of word counts (key: word, value: 64-bit big-endian count).")
    var output = "word-counts"
    @Flag(help: "Start a dev broker in this process, feed it sample lines, print the counts and exit.")
    var demo = false

    func run() async throws {
        if demo {
            try await WordCountDemo.run()
            return
        }
        let logger = StreamsWorkerOptions.bootstrapLogging(label: "wordcount")
        let topology = try WordCountTopology.build(input: input, output: output)
        let streams = KafkaStreams(topology, worker.streamsConfig(applicationId: applicationId), logger: logger)
        try await worker.run(streams, logger: logger)
    }
}

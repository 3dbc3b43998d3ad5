// Page views enriched with user profiles: a stream-table join on a Kafka cluster.
// `swift run PageViewEnrichment --bootstrap localhost:9092`; see Samples/PageViewEnrichment/README.md.
import ArgumentParser
import Rivulet
import SampleSupport

@main
struct PageViewEnrichment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Joins page views (keyed by user id) with the latest profile of their user, writing enriched views.")

    /// `--bootstrap`, `--state-dir`, `--threads`, `--commit-interval-ms`, `--session-timeout-ms`,
    /// `--report-tasks`: the flags every sample worker shares (Samples/SampleSupport).
    @OptionGroup var worker: StreamsWorkerOptions
    @Option(name: .customLong("application-id"), help: "The application id: consumer group, internal topic prefix, state folder.")
    var applicationId = "pageview-enrichment"
    @Option(name: .customLong("page-views"), help: "Topic of page views (key: user id, value: JSON {page, durationMs}).")
    var pageViews = "page-views"
    @Option(help: "Topic of user profiles (key: user id, value: JSON {name, region}); same partition count as the page views.")
    var profiles = "user-profiles"
    @Option(help: "Topic of enriched page views (key: user id, value: JSON).")
    var output = "enriched-page-views"

    func run() async throws {
        let logger = StreamsWorkerOptions.bootstrapLogging(label: "pageview-enrichment")
        let topology = try PageViewTopology.build(pageViews: pageViews, profiles: profiles, output: output)
        let streams = KafkaStreams(topology, worker.streamsConfig(applicationId: applicationId), logger: logger)
        try await worker.run(streams, logger: logger)
    }
}

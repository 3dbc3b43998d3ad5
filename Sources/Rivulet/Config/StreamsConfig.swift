/// The settings of a streams application (Kafka Streams' `StreamsConfig`, as a value).
///
/// ```swift
/// var config = StreamsConfig(applicationId: "wordcount", bootstrapServers: "localhost:9092")
/// config.numStreamThreads = 2
/// config.commitInterval = .seconds(5)
/// ```
public struct StreamsConfig: Sendable {
    /// Names the consumer group, prefixes internal topics (`<application.id>-<name>-repartition`,
    /// `<application.id>-<store>-changelog`) and names the state directory.
    public var applicationId: String
    /// `bootstrap.servers`: `host:port[,host:port...]` of the Kafka cluster ``KafkaStreams`` runs on.
    public var bootstrapServers: String
    /// `num.stream.threads`: how many stream threads this instance runs; each is a member of the
    /// application's consumer group with its own producer, and runs the tasks assigned to it.
    public var numStreamThreads: Int
    /// `processing.guarantee`.
    public var processingGuarantee: ProcessingGuarantee
    /// Where tasks keep persistent stores and checkpoints: `<stateDirectory>/<applicationId>/<task id>`.
    public var stateDirectory: String
    /// Memory for the record caches of a thread's tasks (`cache.max.bytes.buffering`); 0 disables
    /// caching, so every table update is emitted. ``KafkaStreams`` divides it among its threads.
    public var cacheMaxBytesBuffering: Int
    /// How often tasks commit (`commit.interval.ms`): caches flush and offsets are committed.
    public var commitInterval: Duration
    /// `poll.ms`: how long a stream thread waits for input before punctuating and committing.
    public var pollInterval: Duration
    /// `session.timeout.ms` of the stream threads' consumers: how long the group waits for a
    /// crashed instance before its tasks move elsewhere.
    public var sessionTimeout: Duration
    /// `heartbeat.interval.ms` of the stream threads' consumers: also how quickly a member hears
    /// that the group rebalances.
    public var heartbeatInterval: Duration
    /// `replication.factor` of the internal topics the runtime creates; -1 for the broker's default.
    public var replicationFactor: Int16
    /// What to do with a record whose key or value cannot be deserialized.
    public var deserializationExceptionHandler: DeserializationExceptionHandler
    /// Where record timestamps come from, unless a source says otherwise.
    public var defaultTimestampExtractor: TimestampExtractor

    /// A configuration; only the application id has no default.
    public init(
        applicationId: String,
        bootstrapServers: String = "localhost:9092",
        numStreamThreads: Int = 1,
        processingGuarantee: ProcessingGuarantee = .atLeastOnce,
        stateDirectory: String = "/tmp/rivulet-streams",
        cacheMaxBytesBuffering: Int = 10 * 1024 * 1024,
        commitInterval: Duration = .seconds(30),
        pollInterval: Duration = .milliseconds(100),
        sessionTimeout: Duration = .seconds(45),
        heartbeatInterval: Duration = .seconds(3),
        replicationFactor: Int16 = -1,
        deserializationExceptionHandler: DeserializationExceptionHandler = .logAndFail,
        defaultTimestampExtractor: TimestampExtractor = .recordTimestamp
    ) {
        self.applicationId = applicationId
        self.bootstrapServers = bootstrapServers
        self.numStreamThreads = numStreamThreads
        self.processingGuarantee = processingGuarantee
        self.stateDirectory = stateDirectory
        self.cacheMaxBytesBuffering = cacheMaxBytesBuffering
        self.commitInterval = commitInterval
        self.pollInterval = pollInterval
        self.sessionTimeout = sessionTimeout
        self.heartbeatInterval = heartbeatInterval
        self.replicationFactor = replicationFactor
        self.deserializationExceptionHandler = deserializationExceptionHandler
        self.defaultTimestampExtractor = defaultTimestampExtractor
    }
}

/// `processing.guarantee`: what a failure may do to results.
public enum ProcessingGuarantee: String, Sendable, Hashable {
    /// Outputs and changelog writes are acknowledged before input offsets are committed, so
    /// nothing is lost; after a crash, records processed since the last commit are processed
    /// again, and their effects may appear twice.
    case atLeastOnce = "at_least_once"
}

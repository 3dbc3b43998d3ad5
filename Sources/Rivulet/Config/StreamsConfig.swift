/// The settings of a streams application (Kafka Streams' `StreamsConfig`, as a value).
public struct StreamsConfig: Sendable {
    /// Names the consumer group, prefixes internal topics (`<application.id>-<name>-repartition`,
    /// `<application.id>-<store>-changelog`) and names the state directory.
    public var applicationId: String
    /// Where tasks keep persistent stores and checkpoints: `<stateDirectory>/<applicationId>/<task id>`.
    public var stateDirectory: String
    /// Memory for the record caches of a thread's tasks (`cache.max.bytes.buffering`); 0 disables
    /// caching, so every table update is emitted.
    public var cacheMaxBytesBuffering: Int
    /// How often tasks commit (`commit.interval.ms`): caches flush and offsets are committed.
    public var commitInterval: Duration
    /// What to do with a record whose key or value cannot be deserialized.
    public var deserializationExceptionHandler: DeserializationExceptionHandler
    /// Where record timestamps come from, unless a source says otherwise.
    public var defaultTimestampExtractor: TimestampExtractor

    /// A configuration; only the application id has no default.
    public init(
        applicationId: String,
        stateDirectory: String = "/tmp/rivulet-streams",
        cacheMaxBytesBuffering: Int = 10 * 1024 * 1024,
        commitInterval: Duration = .seconds(30),
        deserializationExceptionHandler: DeserializationExceptionHandler = .logAndFail,
        defaultTimestampExtractor: TimestampExtractor = .recordTimestamp
    ) {
        self.applicationId = applicationId
        self.stateDirectory = stateDirectory
        self.cacheMaxBytesBuffering = cacheMaxBytesBuffering
        self.commitInterval = commitInterval
        self.deserializationExceptionHandler = deserializationExceptionHandler
        self.defaultTimestampExtractor = defaultTimestampExtractor
    }
}

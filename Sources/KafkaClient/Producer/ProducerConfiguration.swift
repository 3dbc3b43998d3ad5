import KafkaProtocol

/// Settings of a `KafkaProducer`. Names follow the Java client's and librdkafka's where they
/// exist (`linger.ms` is `linger`, `batch.size` is `batchSize`, and so on).
///
/// ```swift
/// var configuration = try ProducerConfiguration(bootstrap: "localhost:9092")
/// configuration.compression = .lz4
/// configuration.linger = .milliseconds(10)
/// ```
public struct ProducerConfiguration: Sendable {
    /// Connection, metadata and retry-backoff settings shared with consumers and admin.
    public var client: ClientConfiguration
    /// `acks`: how many replicas must have a batch before it counts as delivered.
    public var acks: Acks = .all
    /// `compression.type`: codec of every batch.
    public var compression: CompressionCodec = .none
    /// `linger.ms`: how long a batch that is not full waits for more records before it is sent.
    /// Longer lingers make larger batches (fewer requests, better compression) at the cost of latency.
    public var linger: Duration = .milliseconds(5)
    /// `batch.size`: a batch is sent as soon as its records reach this many bytes (uncompressed).
    /// A single record larger than this gets a batch of its own.
    public var batchSize = 64 * 1024
    /// `max.request.size`: the largest produce request; a record larger than this is refused
    /// by `send` with `recordTooLarge` before anything is sent.
    public var maxRequestSize = 1_048_576
    /// `buffer.memory`: bytes of records waiting to be sent or acknowledged. When full, `send`
    /// suspends until acknowledgements free room (back-pressure), for at most `maxBlock`.
    public var bufferMemory = 32 * 1024 * 1024
    /// `max.block.ms`: how long `send` may wait for buffer room or for a topic's metadata.
    public var maxBlock: Duration = .seconds(60)
    /// `delivery.timeout.ms`: from `send` to the final outcome of a record, retries included.
    public var deliveryTimeout: Duration = .seconds(120)
    /// `request.timeout.ms` of produce requests: how long the broker may take to replicate
    /// (sent as the request's timeout) and how long the producer waits for the answer.
    public var requestTimeout: Duration = .seconds(30)
    /// `retries`: how many times a batch is re-sent after a retriable error, within `deliveryTimeout`.
    public var retries = Int.max
    /// `retry.backoff.ms` and `retry.backoff.max.ms`: the pause before re-sending a batch,
    /// doubled per attempt up to the maximum, with ±20% jitter.
    public var retryBackoff: Duration = .milliseconds(100)
    public var retryBackoffMax: Duration = .seconds(1)
    /// `max.in.flight.requests.per.connection`: produce requests sent to one broker and not yet
    /// answered. At most 5 with idempotence, the window within which brokers detect duplicates.
    public var maxInFlightRequestsPerConnection = 5
    /// `enable.idempotence`: the broker gets a producer id and per-partition sequence numbers,
    /// so retries can neither duplicate nor reorder records. Requires `acks = .all`.
    public var enableIdempotence = true
    /// Chooses the partition of records that name none.
    public var partitioner: Partitioner = .murmur2
    /// Run on every record, in order; see `ProducerInterceptor`.
    public var interceptors: [any ProducerInterceptor] = []
    /// Which outcomes of `sendAndForget` are reported on `KafkaProducer.deliveryReports`.
    public var deliveryReports: DeliveryReportMode = .all
    /// Called once per batch with its outcome, where the outcome is learned (often a network
    /// thread: keep it short, never block), before `flush()` calls waiting for the batch return.
    /// Counting outcomes here is cheaper than delivery reports: nothing is decoded per record.
    public var onBatchCompletion: (@Sendable (BatchDelivery) -> Void)?
    /// `allow.auto.create.topics`: ask the broker to create a topic the first time it is used
    /// (it does so only when its own `auto.create.topics.enable` is on).
    public var allowAutoTopicCreation = true
    /// `transactional.id`: makes the producer transactional (see `initTransactions()` and
    /// docs/exactly-once.md). The id names one logical producer across restarts: a new
    /// instance with the same id fences the old one and aborts its open transaction.
    /// Transactional producers are idempotent by necessity (`enableIdempotence` must stay on).
    public var transactionalId: String?
    /// `transaction.timeout.ms`: how long the transaction coordinator lets a transaction stay
    /// open before aborting it, so that a producer that died mid-transaction does not hold
    /// back read_committed consumers for ever. At most the broker's `transaction.max.timeout.ms`.
    public var transactionTimeout: Duration = .seconds(60)

    public init(client: ClientConfiguration) {
        self.client = client
    }

    /// Parses `host:port[,host:port...]`.
    public init(bootstrap: String) throws {
        self.init(client: try ClientConfiguration(bootstrap: bootstrap))
    }

    /// The largest idempotent window Kafka brokers track per producer and partition.
    public static let maxIdempotentInFlight = 5

    /// Throws `invalidConfiguration` when settings contradict each other.
    func validate() throws(KafkaProducerError) {
        func require(_ condition: Bool, _ reason: @autoclosure () -> String) throws(KafkaProducerError) {
            if !condition { throw .invalidConfiguration(reason()) }
        }
        try require(!client.bootstrapServers.isEmpty, "no bootstrap servers")
        try require(batchSize > 0, "batchSize must be positive")
        try require(maxRequestSize > 0, "maxRequestSize must be positive")
        try require(bufferMemory > 0, "bufferMemory must be positive")
        try require(maxInFlightRequestsPerConnection >= 1, "maxInFlightRequestsPerConnection must be at least 1")
        try require(retries >= 0, "retries must not be negative")
        try require(deliveryTimeout > .zero, "deliveryTimeout must be positive")
        if enableIdempotence {
            try require(acks == .all, "idempotence requires acks = .all (got \(acks)); set enableIdempotence = false to use other acks")
            try require(maxInFlightRequestsPerConnection <= Self.maxIdempotentInFlight,
                        "idempotence allows at most \(Self.maxIdempotentInFlight) in-flight requests per connection")
            try require(retries > 0, "idempotence requires retries > 0")
        }
        if let transactionalId {
            try require(!transactionalId.isEmpty, "transactionalId must not be empty")
            try require(enableIdempotence, "a transactional producer is idempotent: enableIdempotence must be true with a transactionalId")
            try require(transactionTimeout >= .milliseconds(1) && transactionTimeout.milliseconds <= Int64(Int32.max),
                        "transactionTimeout must be between 1 ms and \(Int32.max) ms")
        }
    }
}

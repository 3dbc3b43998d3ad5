/// Settings of the dev broker. Defaults suit local development and tests.
public struct BrokerConfiguration: Sendable {
    /// Interface to listen on.
    public var host = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (read it back from `EmbeddedBroker.port`).
    public var port = 9092
    /// The host advertised in Metadata; defaults to `host`.
    public var advertisedHost: String?
    /// Where logs, offsets and transaction state live. Everything is durable across restarts.
    public var dataDirectory: String
    /// The broker's node id.
    public var nodeId: Int32 = 0
    /// Reported in Metadata.
    public var clusterId = "rivulet-dev-cluster"
    /// `num.partitions`: partitions of an auto-created topic, or of CreateTopics with -1.
    public var defaultPartitions: Int32 = 1
    /// `auto.create.topics.enable`.
    public var autoCreateTopics = true
    /// Defaults for topic configs not given at creation.
    public var defaultLogConfig = LogConfig()
    /// `socket.request.max.bytes`: larger request frames close the connection.
    public var maxRequestSize = 100 * 1024 * 1024
    /// Connections beyond this are closed on accept.
    public var maxConnections = 1000
    /// `connections.max.idle.ms`: a connection silent this long, even mid-frame, is closed.
    public var idleConnectionTimeoutMs: Int64 = 600_000
    /// `group.initial.rebalance.delay.ms`: how long a new group waits for more members before the first rebalance.
    public var groupInitialRebalanceDelayMs: Int64 = 0
    /// `group.min.session.timeout.ms` / `group.max.session.timeout.ms`.
    public var groupMinSessionTimeoutMs: Int32 = 6000
    public var groupMaxSessionTimeoutMs: Int32 = 1_800_000
    /// `transaction.max.timeout.ms`: the longest transaction timeout a producer may ask for.
    public var transactionMaxTimeoutMs: Int32 = 900_000
    /// How often the broker checks for expired transactions, expired group members, retention and flushes.
    public var housekeepingIntervalMs: Int64 = 200

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }
}

import KafkaProtocol

/// Settings of a `KafkaConsumer`. Names follow the Java client and librdkafka
/// (`group.id`, `session.timeout.ms`, …); defaults are the Java client's unless noted.
///
/// ```swift
/// var configuration = try ConsumerConfiguration(bootstrap: "127.0.0.1:9092", groupId: "billing")
/// configuration.autoOffsetReset = .earliest
/// configuration.isolationLevel = .readCommitted
/// ```
public struct ConsumerConfiguration: Sendable {
    /// Connection settings shared with producers and admin: bootstrap servers, client id, timeouts, backoff.
    public var client: ClientConfiguration

    // MARK: Group membership

    /// `group.id`: the consumer group. Required for `subscribe` and for committing offsets;
    /// `assign` works without one (positions then start from `autoOffsetReset`).
    public var groupId: String?
    /// `group.instance.id`: makes this member static (KIP-345). A static member that restarts
    /// within the session timeout gets its old assignment back without a rebalance, and it
    /// does not leave the group on close: the coordinator waits for the session to expire.
    public var groupInstanceId: String?
    /// `session.timeout.ms`: the coordinator removes the member when no heartbeat arrives for this long.
    public var sessionTimeout: Duration = .seconds(45)
    /// `heartbeat.interval.ms`: time between heartbeats; keep it well below a third of the session timeout.
    public var heartbeatInterval: Duration = .seconds(3)
    /// `max.poll.interval.ms`: sent as the rebalance timeout, the time members have to rejoin once a
    /// rebalance starts (and so the time a revocation callback may take).
    public var rebalanceTimeout: Duration = .seconds(300)
    /// `partition.assignment.strategy`: assignors offered to the group, preferred first. The
    /// coordinator picks the first one every member supports. The group rebalances cooperatively
    /// (KIP-429) only when every assignor listed is cooperative, as in the Java client.
    public var assignors: [any PartitionAssignor] = [RangeAssignor(), CooperativeStickyAssignor()]
    /// `client.rack`: sent in the subscription for rack-aware assignors.
    public var clientRack: String?

    // MARK: Offsets

    /// `enable.auto.commit`: commit the positions of records returned by `poll` every
    /// `autoCommitInterval`, before partitions are revoked, and on close.
    public var enableAutoCommit = true
    /// `auto.commit.interval.ms`.
    public var autoCommitInterval: Duration = .seconds(5)
    /// `auto.offset.reset`: where to start when there is no committed offset or it is out of range.
    public var autoOffsetReset: OffsetResetStrategy = .latest
    /// `isolation.level`: whether records of open and aborted transactions are returned.
    public var isolationLevel: IsolationLevel = .readUncommitted

    // MARK: Fetching

    /// `fetch.min.bytes`: the broker waits for this much data (or `fetchMaxWait`) before answering.
    public var fetchMinBytes: Int32 = 1
    /// `fetch.max.wait.ms`.
    public var fetchMaxWait: Duration = .milliseconds(500)
    /// `max.partition.fetch.bytes`: bytes per partition per fetch (a larger first batch still comes whole).
    public var maxPartitionFetchBytes: Int32 = 1024 * 1024
    /// `fetch.max.bytes`: bytes per fetch response (a larger first batch still comes whole).
    public var fetchMaxBytes: Int32 = 50 * 1024 * 1024
    /// `queued.max.messages.kbytes` (librdkafka), in bytes: how much fetched data may wait for the
    /// application. Fetching continues in the background (prefetch) while less than this is buffered.
    public var maxBufferedBytes = 64 * 1024 * 1024
    /// `queued.min.messages` (librdkafka): a partition is fetched ahead while fewer of its records
    /// than this wait for the application (and the whole buffer is below `maxBufferedBytes`).
    /// Counting records rather than responses keeps a partition that is written while it is
    /// read (each response then holds only what arrived since the last) fetched far enough
    /// ahead that `poll` does not wait on a round trip to the broker.
    public var minBufferedRecords = 100_000
    /// `max.poll.records`: the most records one `poll` returns.
    public var maxPollRecords = 500
    /// `check.crcs`: verify each batch's CRC-32C.
    public var checkCRCs = true

    /// A consumer of `client`'s cluster, optionally in group `groupId`.
    public init(client: ClientConfiguration, groupId: String? = nil) {
        self.client = client
        self.groupId = groupId
    }

    /// Parses `host:port[,host:port...]` for the bootstrap servers.
    public init(bootstrap: String, groupId: String? = nil) throws {
        self.init(client: try ClientConfiguration(bootstrap: bootstrap), groupId: groupId)
    }
}

/// `auto.offset.reset`: where a partition without a valid position starts.
public enum OffsetResetStrategy: String, Sendable, Hashable, CaseIterable {
    /// The oldest offset still in the log.
    case earliest
    /// The end of the log: only records produced from now on.
    case latest
    /// No automatic reset: `poll` throws `KafkaConsumerError.noOffset` (no committed offset) or
    /// `.offsetOutOfRange` until the application seeks.
    case none
}

/// `isolation.level`.
public enum IsolationLevel: String, Sendable, Hashable {
    /// Every record, including those of open and aborted transactions.
    case readUncommitted = "read_uncommitted"
    /// Only records of committed transactions (and non-transactional records), up to the last
    /// stable offset; aborted transactions' records are dropped.
    case readCommitted = "read_committed"

    /// The value of the `isolation_level` field in Fetch and ListOffsets.
    var wireValue: Int8 { self == .readCommitted ? 1 : 0 }
}

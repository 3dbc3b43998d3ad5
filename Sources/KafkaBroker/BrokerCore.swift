import KafkaProtocol
import Logging
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The broker's state and request handlers, shared by every connection.
final class BrokerCore: Sendable {
    let configuration: BrokerConfiguration
    let topics: TopicRegistry
    let appendSignal = AppendSignal()
    let offsets: OffsetStore
    let groups: GroupCoordinator
    let transactions: TransactionCoordinator
    /// Compacts `cleanup.policy=compact` topics in the background.
    let cleaner: LogCleanerService
    /// The port actually bound, advertised in Metadata.
    let advertisedPort: Int32
    var advertisedHost: String { configuration.advertisedHost ?? configuration.host }

    init(configuration: BrokerConfiguration, advertisedPort: Int, recover: Bool, logger: Logger = Logger(label: "rivulet.broker")) throws {
        self.configuration = configuration
        self.advertisedPort = Int32(advertisedPort)
        self.topics = try TopicRegistry(
            dataDirectory: configuration.dataDirectory, defaults: configuration.defaultLogConfig,
            recover: recover, nowMs: Self.nowMs())
        if topics.topic(named: OffsetStore.topicName) == nil {
            try Self.createInternalTopic(topics, OffsetStore.topicName)
        }
        self.offsets = try OffsetStore(log: topics.partition(OffsetStore.topicName, 0)!)
        self.groups = GroupCoordinator(configuration: configuration, offsets: offsets)
        self.transactions = try TransactionCoordinator(
            dataDirectory: configuration.dataDirectory, maxTimeoutMs: configuration.transactionMaxTimeoutMs,
            topics: topics, offsets: offsets)
        self.cleaner = LogCleanerService(topics: topics, logger: logger)
    }

    private static func createInternalTopic(_ topics: TopicRegistry, _ name: String) throws {
        do {
            // Kafka's own settings for the offsets topic: compacted, in 100 MiB segments so that
            // compaction, which only rewrites closed segments, gets to run.
            try topics.create(name: name, partitions: 1, replicationFactor: 1,
                              configs: ["cleanup.policy": "compact", "segment.bytes": "104857600"], nowMs: nowMs())
        } catch {
            throw StorageError(path: name, operation: "create internal topic: \(error.message)", errno: 0)
        }
    }

    /// Wall-clock milliseconds since the epoch, the unit of Kafka timestamps.
    static func nowMs() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// Periodic maintenance: session expiry, transaction timeouts, flush policy, retention, and a
    /// nudge to the log cleaner (which checks the compacted partitions on its own thread).
    func housekeeping() async {
        cleaner.wake()
        await groups.expireMembers()
        if await transactions.abortExpired() { appendSignal.notifyAll() }
        let now = Self.nowMs()
        for topic in topics.all {
            for partition in topic.partitions { try? partition.housekeeping(nowMs: now) }
        }
    }

    /// Creates a topic on first use when auto-creation is on.
    func topicForUse(_ name: String, autoCreate: Bool) -> Topic? {
        if let topic = topics.topic(named: name) { return topic }
        guard autoCreate, configuration.autoCreateTopics else { return nil }
        do {
            return try topics.create(name: name, partitions: configuration.defaultPartitions, replicationFactor: 1, configs: [:], nowMs: Self.nowMs())
        } catch {
            // A concurrent creation wins the race; use its topic.
            return topics.topic(named: name)
        }
    }
}

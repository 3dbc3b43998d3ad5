import KafkaProtocol
import Logging
import NIOCore
import NIOPosix

/// The connection to a Kafka cluster that producers, consumers and admin share.
///
/// Keeps one connection per broker (opened on first use, re-opened with exponential backoff
/// and jitter after a failure), a metadata cache refreshed on an interval and whenever a caller
/// reports a stale-metadata error, and the coordinators of groups and transactional ids.
public actor KafkaCluster {
    public nonisolated let configuration: ClientConfiguration
    let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    private var connections: [BrokerAddress: KafkaConnection] = [:]
    private var connecting: [BrokerAddress: Task<KafkaConnection, any Error>] = [:]
    private var failures: [BrokerAddress: (count: Int, lastFailure: ContinuousClock.Instant)] = [:]
    private var metadataSnapshot = ClusterMetadata()
    private var metadataFetchedAt: ContinuousClock.Instant?
    /// Topics this client cares about; periodic refreshes ask for these.
    private var knownTopics: Set<String> = []
    private var coordinators: [CoordinatorKey: Int32] = [:]
    private var closed = false

    /// What a coordinator coordinates.
    public enum CoordinatorType: Int8, Sendable {
        case group = 0
        case transaction = 1
    }

    private struct CoordinatorKey: Hashable {
        var type: CoordinatorType
        var key: String
    }

    public init(configuration: ClientConfiguration,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "rivulet.client")) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Closes every connection. Later calls fail with `KafkaClientError.closed`.
    public func close() async {
        closed = true
        for task in connecting.values { task.cancel() }
        let open = Array(connections.values)
        connections.removeAll()
        for connection in open { await connection.close() }
    }

    // MARK: Connections

    /// The shared connection to a broker, opened if needed.
    public func connection(to address: BrokerAddress) async throws -> KafkaConnection {
        guard !closed else { throw KafkaClientError.closed }
        if let existing = connections[address], existing.isActive { return existing }
        connections[address] = nil
        if let pending = connecting[address] { return try await pending.value }
        let delay = backoff(for: address)
        let configuration = configuration.connectionConfiguration
        let group = eventLoopGroup
        let task = Task {
            if delay > .zero { try await Task.sleep(for: delay) }
            return try await KafkaConnection.connect(to: address, configuration: configuration, eventLoopGroup: group)
        }
        connecting[address] = task
        defer { connecting[address] = nil }
        do {
            let connection = try await task.value
            connections[address] = connection
            failures[address] = nil
            return connection
        } catch {
            let previous = failures[address]?.count ?? 0
            failures[address] = (previous + 1, .now)
            throw error
        }
    }

    /// The connection to a broker by node id, from metadata.
    public func connection(toNode nodeId: Int32) async throws -> KafkaConnection {
        if metadataSnapshot.brokers[nodeId] == nil { _ = try await refreshMetadata() }
        guard let broker = metadataSnapshot.brokers[nodeId] else {
            throw KafkaClientError.broker(KafkaResponseError(code: .brokerNotAvailable, context: "no broker with node id \(nodeId)"))
        }
        return try await connection(to: broker.address)
    }

    /// A connection to any live broker: known brokers first, then the bootstrap list.
    public func anyConnection() async throws -> KafkaConnection {
        if let open = connections.values.first(where: \.isActive) { return open }
        var lastError: (any Error)?
        let candidates = metadataSnapshot.brokers.values.map(\.address).sorted { $0.description < $1.description } + configuration.bootstrapServers
        for address in candidates {
            do { return try await connection(to: address) } catch { lastError = error }
        }
        throw lastError ?? KafkaClientError.connectionFailed(broker: configuration.bootstrapServers.first ?? BrokerAddress(host: "localhost", port: 9092), reason: "no brokers")
    }

    /// What is left to wait, after consecutive failures to reach `address`, of its backoff.
    private func backoff(for address: BrokerAddress) -> Duration {
        guard let failure = failures[address], failure.count > 0 else { return .zero }
        let full = Self.reconnectBackoff(
            afterFailures: failure.count, base: configuration.reconnectBackoff, max: configuration.reconnectBackoffMax,
            jitter: Double.random(in: 0.8...1.2))
        let elapsed = ContinuousClock.now - failure.lastFailure
        return max(.zero, full - elapsed)
    }

    /// Exponential backoff: `base · 2^(failures-1)`, capped at `max`, then scaled by `jitter`
    /// (drawn from 0.8...1.2, so that clients that lost a broker together do not return together).
    static func reconnectBackoff(afterFailures failures: Int, base: Duration, max: Duration, jitter: Double) -> Duration {
        guard failures > 0 else { return .zero }
        return min(base * (1 << min(failures - 1, 16)), max) * jitter
    }

    /// Forgets a connection that failed, so the next use reconnects.
    public func connectionFailed(_ connection: KafkaConnection) async {
        if connections[connection.broker] === connection {
            connections[connection.broker] = nil
            let previous = failures[connection.broker]?.count ?? 0
            failures[connection.broker] = (previous + 1, .now)
        }
        await connection.close()
    }

    // MARK: Metadata

    /// The cached metadata, refreshed first when older than `metadata.max.age.ms` or missing `topics`.
    public func metadata(for topics: [String] = [], allowAutoTopicCreation: Bool = false) async throws -> ClusterMetadata {
        knownTopics.formUnion(topics)
        let stale = metadataFetchedAt.map { ContinuousClock.now - $0 > configuration.metadataMaxAge } ?? true
        let missing = topics.contains { metadataSnapshot.topics[$0] == nil || metadataSnapshot.topics[$0]?.error != .noError }
        if stale || missing {
            return try await refreshMetadata(topics: topics, allowAutoTopicCreation: allowAutoTopicCreation)
        }
        return metadataSnapshot
    }

    /// Fetches metadata now: for `topics` plus every topic already known, or for all topics with `all`.
    @discardableResult
    public func refreshMetadata(topics: [String] = [], allowAutoTopicCreation: Bool = false, all: Bool = false) async throws -> ClusterMetadata {
        knownTopics.formUnion(topics)
        let wanted = knownTopics.sorted()
        let request = MetadataRequest(
            topics: all ? nil : wanted.map { MetadataRequest.MetadataRequestTopic(name: $0) },
            allowAutoTopicCreation: allowAutoTopicCreation)
        let response = try await sendToAny(request)
        let fresh = ClusterMetadata(response)
        metadataSnapshot.merge(fresh, replacingAllTopics: all)
        metadataFetchedAt = .now
        return metadataSnapshot
    }

    /// Marks metadata stale after NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION and the like.
    public func invalidateMetadata() {
        metadataFetchedAt = nil
    }

    /// The partitions of a topic; throws UNKNOWN_TOPIC_OR_PARTITION when it does not exist.
    public func partitions(of topic: String, allowAutoTopicCreation: Bool = false) async throws -> [ClusterMetadata.Partition] {
        let snapshot = try await metadata(for: [topic], allowAutoTopicCreation: allowAutoTopicCreation)
        guard let entry = snapshot.topics[topic], entry.error == .noError else {
            let code = snapshot.topics[topic]?.error ?? .unknownTopicOrPartition
            throw KafkaClientError.broker(KafkaResponseError(code: code, context: "topic '\(topic)'"))
        }
        return entry.partitions
    }

    /// The leader of a partition, refreshing metadata once if it is not known.
    public func leader(for partition: TopicPartition) async throws -> Int32 {
        if let leader = try await metadata(for: [partition.topic]).leader(for: partition) { return leader }
        if let leader = try await refreshMetadata(topics: [partition.topic]).leader(for: partition) { return leader }
        throw KafkaClientError.broker(KafkaResponseError(code: .leaderNotAvailable, context: "partition \(partition)"))
    }

    // MARK: Requests

    /// Sends a request to any broker, retrying on another after a connection failure.
    public func sendToAny<R: KafkaRequestMessage>(_ request: R) async throws -> R.Response {
        var attempt = 0
        while true {
            let connection = try await anyConnection()
            do {
                return try await connection.send(request)
            } catch let error as KafkaClientError {
                guard error.isConnectionFailure, attempt < 3 else { throw error }
                await connectionFailed(connection)
                attempt += 1
            }
        }
    }

    /// Sends a request to a broker by node id.
    public func send<R: KafkaRequestMessage>(_ request: R, toNode nodeId: Int32) async throws -> R.Response {
        let connection = try await connection(toNode: nodeId)
        do {
            return try await connection.send(request)
        } catch let error as KafkaClientError where error.isConnectionFailure {
            await connectionFailed(connection)
            throw error
        }
    }

    // MARK: Coordinators

    /// The node coordinating a group or transactional id (FindCoordinator), cached until invalidated.
    public func coordinator(for key: String, type: CoordinatorType) async throws -> Int32 {
        let cacheKey = CoordinatorKey(type: type, key: key)
        if let node = coordinators[cacheKey] { return node }
        var attempt = 0
        while true {
            let connection = try await anyConnection()
            let version = connection.negotiatedVersion(for: FindCoordinatorRequest.self) ?? 0
            let request = version >= 4
                ? FindCoordinatorRequest(keyType: type.rawValue, coordinatorKeys: [key])
                : FindCoordinatorRequest(key: key, keyType: type.rawValue)
            let response = try await connection.send(request, version: version)
            let code: KafkaErrorCode
            let nodeId: Int32
            if version >= 4, let entry = response.coordinators.first {
                code = KafkaErrorCode(entry.errorCode)
                nodeId = entry.nodeId
                if code == .noError { metadataSnapshot.brokers[entry.nodeId] = .init(nodeId: entry.nodeId, address: BrokerAddress(host: entry.host, port: Int(entry.port))) }
            } else {
                code = KafkaErrorCode(response.errorCode)
                nodeId = response.nodeId
                if code == .noError { metadataSnapshot.brokers[response.nodeId] = .init(nodeId: response.nodeId, address: BrokerAddress(host: response.host, port: Int(response.port))) }
            }
            if code == .noError {
                coordinators[cacheKey] = nodeId
                return nodeId
            }
            guard code.isRetriable, attempt < 20 else {
                throw KafkaClientError.broker(KafkaResponseError(code: code, context: "FindCoordinator for \(type) '\(key)'"))
            }
            attempt += 1
            try await Task.sleep(for: configuration.retryBackoff)
        }
    }

    /// Forgets a coordinator after NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE.
    public func invalidateCoordinator(for key: String, type: CoordinatorType) {
        coordinators[CoordinatorKey(type: type, key: key)] = nil
    }
}

extension KafkaClientError {
    /// Errors after which the connection is not to be reused.
    public var isConnectionFailure: Bool {
        switch self {
        case .connectionFailed, .connectionClosed, .requestTimedOut, .malformedResponse, .unexpectedCorrelationId: return true
        default: return false
        }
    }
}

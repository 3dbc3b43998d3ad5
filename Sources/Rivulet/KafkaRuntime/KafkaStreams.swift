import KafkaClient
import KafkaProtocol
import Logging
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A streams application running a topology on a Kafka cluster (Kafka Streams' `KafkaStreams`).
///
/// ```swift
/// var config = StreamsConfig(applicationId: "wordcount", bootstrapServers: "localhost:9092")
/// config.numStreamThreads = 2
/// let streams = KafkaStreams(topology, config)
/// streams.setStateListener { new, old in print("\(old) -> \(new)") }
/// try await streams.start()
/// // ...
/// await streams.close()
/// ```
///
/// `start()` checks the source topics (joined topics must have equal partition counts), creates
/// the internal topics, and starts `numStreamThreads` stream threads. Every thread is a member of
/// the consumer group `application.id`, with its own producer; the group's leader assigns tasks
/// (sub-topology × partition) to threads with ``StreamsPartitionAssignor``. Instances with the
/// same application id share the work; when one stops or fails, its tasks move to the others,
/// which restore the tasks' stores from their changelog topics.
///
/// As a `Service` (swift-service-lifecycle), `run()` starts the application and closes it on
/// graceful shutdown (SIGTERM, SIGINT) or cancellation:
///
/// ```swift
/// let group = ServiceGroup(services: [streams], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public final class KafkaStreams: Sendable {
    /// The life of the application (Kafka Streams' `KafkaStreams.State`).
    public enum State: String, Sendable, Hashable {
        /// Built, not started.
        case created
        /// Started; some thread waits for tasks or restores state.
        case rebalancing
        /// Every thread processes its tasks.
        case running
        /// `close()` was called: threads commit, close their tasks and leave the group.
        case pendingShutdown
        /// Closed.
        case notRunning
        /// A thread failed; the others are shutting down.
        case pendingError
        /// Stopped after a failure (see ``failure``).
        case error
    }

    /// What the application runs.
    public let topology: Topology
    /// How it runs.
    public let config: StreamsConfig
    /// Identifies this instance to the group's assignor.
    public let processId: String
    private let logger: Logger
    private let shared = Mutex(Shared())

    private struct Shared: Sendable {
        var state = State.created
        var listener: (@Sendable (State, State) -> Void)?
        var restoreListener: StateRestoreListener?
        var threads: [StreamThread] = []
        var runs: [Task<Void, Never>] = []
        var metadata: [String: ThreadMetadata] = [:]
        var failure: (any Error)?
        /// `start()` in progress plus stream threads still running; the application has stopped
        /// only when this is 0.
        var active = 0
        var whenInactive: [CheckedContinuation<Void, Never>] = []
    }

    /// An application running `topology` as `config` says; nothing connects until ``start()``.
    public init(_ topology: Topology, _ config: StreamsConfig, logger: Logger = Logger(label: "rivulet.streams")) {
        self.topology = topology
        self.config = config
        self.processId = UUID().uuidString.lowercased()
        var logger = logger
        logger[metadataKey: "application"] = "\(config.applicationId)"
        self.logger = logger
    }

    /// The current state.
    public var state: State { shared.withLock { $0.state } }

    /// What stopped the application, in state ``State/error``.
    public var failure: (any Error)? { shared.withLock { $0.failure } }

    /// Called with `(new, old)` on every state change, from the thread that caused it.
    public func setStateListener(_ listener: @escaping @Sendable (_ newState: State, _ oldState: State) -> Void) {
        shared.withLock { $0.listener = listener }
    }

    /// Hears about store restoration from changelogs; set it before ``start()``.
    public func setGlobalStateRestoreListener(_ listener: StateRestoreListener) {
        shared.withLock { $0.restoreListener = listener }
    }

    /// Each stream thread's state and tasks.
    public func localThreadsMetadata() -> [ThreadMetadata] {
        shared.withLock { $0.metadata.values.sorted { $0.threadName < $1.threadName } }
    }

    // MARK: Starting

    /// Validates the topology against the cluster, creates internal topics, and starts the
    /// stream threads. Returns once they run; the state becomes ``State/running`` when every
    /// thread has its tasks restored.
    ///
    /// - Throws: `TopologyError.copartitioning` naming joined topics whose partition counts
    ///   differ; `StreamsError.setup` for missing source topics or internal topics with the wrong
    ///   partition count; connection errors. The application is then in state ``State/error``.
    public func start() async throws {
        guard transition(to: .rebalancing, from: [.created]) else {
            throw StreamsError.illegalState("start() is only allowed once, on a created application (state: \(state))")
        }
        shared.withLock { $0.active += 1 }
        defer { endActivity() }
        do {
            let sinkPartitionCounts = try await prepareCluster()
            try StateDirectory(config: config).create()
            try await startThreads(sinkPartitionCounts: sinkPartitionCounts)
        } catch {
            logger.error("could not start: \(error)")
            shared.withLock { $0.failure = $0.failure ?? error }
            _ = transition(to: .error, from: [.rebalancing, .pendingError])
            throw error
        }
    }

    /// Checks source topics and co-partitioning, creates internal topics with the partition counts
    /// the topology needs, and returns the partition counts of the topics sinks write.
    private func prepareCluster() async throws -> [String: Int32] {
        let cluster = KafkaCluster(configuration: try clientConfiguration(clientId: "\(config.applicationId)-admin"), logger: logger)
        let admin = KafkaAdmin(cluster: cluster)
        do {
            let counts = try await InternalTopicManager(admin: admin, config: config, logger: logger).prepare(topology)
            await cluster.close()
            return counts
        } catch {
            await cluster.close()
            throw error
        }
    }

    private func clientConfiguration(clientId: String) throws -> ClientConfiguration {
        var client = try ClientConfiguration(bootstrap: config.bootstrapServers)
        client.clientId = clientId
        return client
    }

    private func startThreads(sinkPartitionCounts: [String: Int32]) async throws {
        let layout = TaskLayout(topology: topology, applicationId: config.applicationId)
        let stateDirectory = StateDirectory(config: config)
        var threadConfig = config
        threadConfig.cacheMaxBytesBuffering = config.cacheMaxBytesBuffering / max(1, config.numStreamThreads)
        var threads: [StreamThread] = []
        let restoreListener = shared.withLock { $0.restoreListener }
        for index in 1...max(1, config.numStreamThreads) {
            let name = "\(config.applicationId)-StreamThread-\(index)"
            let member = StreamsPartitionAssignor.MemberState(processId: processId, tasksOnDisk: { stateDirectory.tasksOnDisk() })
            let assignor = StreamsPartitionAssignor(layout: layout, member: member, logger: logger)

            var consumerConfiguration = ConsumerConfiguration(client: try clientConfiguration(clientId: name), groupId: config.applicationId)
            consumerConfiguration.assignors = [assignor]
            consumerConfiguration.enableAutoCommit = false
            consumerConfiguration.autoOffsetReset = .earliest
            consumerConfiguration.sessionTimeout = config.sessionTimeout
            consumerConfiguration.heartbeatInterval = config.heartbeatInterval
            consumerConfiguration.maxPollRecords = 1000
            consumerConfiguration.fetchMaxWait = config.pollInterval

            var restoreConfiguration = ConsumerConfiguration(client: try clientConfiguration(clientId: "\(name)-restore-consumer"))
            restoreConfiguration.enableAutoCommit = false
            // An offset out of range is reported, not jumped over: the restorer decides whether
            // the store still matches the changelog.
            restoreConfiguration.autoOffsetReset = .none
            restoreConfiguration.maxPollRecords = 10_000
            restoreConfiguration.fetchMaxWait = .milliseconds(100)

            var producerConfiguration = ProducerConfiguration(client: try clientConfiguration(clientId: "\(name)-producer"))
            producerConfiguration.linger = .milliseconds(10)
            producerConfiguration.allowAutoTopicCreation = false
            let producer = try await StreamsProducer.make(configuration: producerConfiguration, logger: logger)

            let admin = KafkaAdmin(cluster: KafkaCluster(configuration: try clientConfiguration(clientId: "\(name)-admin"), logger: logger))
            let clients = StreamThread.Clients(
                consumer: KafkaConsumer(configuration: consumerConfiguration, logger: logger),
                restoreConsumer: KafkaConsumer(configuration: restoreConfiguration, logger: logger),
                producer: producer,
                admin: admin)
            threads.append(StreamThread(
                name: name, topology: topology, config: threadConfig, layout: layout, clients: clients,
                member: member, sinkPartitionCounts: sinkPartitionCounts, restoreListener: restoreListener,
                publish: { [weak self] metadata in self?.threadChanged(metadata) }, logger: logger))
        }
        shared.withLock { shared in
            shared.threads = threads
            // close() came while starting: the threads start only to release what they hold.
            if shared.state != .rebalancing {
                for thread in threads { thread.requestStop() }
            }
            shared.active += threads.count
            shared.runs = threads.map { thread in
                Task { [weak self] in
                    do {
                        try await thread.run()
                    } catch {
                        self?.threadFailed(thread.name, error)
                    }
                    self?.endActivity()
                }
            }
        }
    }

    // MARK: State

    private func transition(to new: State, from allowed: Set<State>) -> Bool {
        let (changed, old, listener) = shared.withLock { shared -> (Bool, State, (@Sendable (State, State) -> Void)?) in
            let old = shared.state
            guard allowed.contains(old), old != new else { return (false, old, nil) }
            shared.state = new
            return (true, old, shared.listener)
        }
        if changed {
            logger.info("state \(old.rawValue) -> \(new.rawValue)")
            listener?(new, old)
        }
        return changed
    }

    private func threadChanged(_ metadata: ThreadMetadata) {
        let all = shared.withLock { shared -> [ThreadMetadata] in
            shared.metadata[metadata.threadName] = metadata
            return Array(shared.metadata.values)
        }
        let threadCount = max(1, config.numStreamThreads)
        if all.count == threadCount && all.allSatisfy({ $0.state == .running }) {
            _ = transition(to: .running, from: [.rebalancing])
        } else if all.contains(where: { [.starting, .partitionsRevoked, .partitionsAssigned].contains($0.state) }) {
            _ = transition(to: .rebalancing, from: [.running])
        }
    }

    private func threadFailed(_ name: String, _ error: any Error) {
        logger.error("stream thread \(name) failed: \(error)")
        let threads = shared.withLock { shared -> [StreamThread] in
            shared.failure = shared.failure ?? error
            return shared.threads
        }
        _ = transition(to: .pendingError, from: [.rebalancing, .running])
        // One failed thread stops the application: the others commit and leave the group.
        for thread in threads { thread.requestStop() }
        Task { [weak self] in
            guard let self else { return }
            await self.awaitThreads()
            _ = self.transition(to: .error, from: [.pendingError, .pendingShutdown])
        }
    }

    /// Deletes this instance's state directory, `<stateDirectory>/<applicationId>` (Kafka Streams'
    /// `cleanUp()`): its stores are then restored from their changelogs when tasks are assigned.
    /// Only before ``start()`` or after ``close(timeout:)``.
    public func cleanUp() throws {
        let (state, active) = shared.withLock { ($0.state, $0.active) }
        guard [.created, .notRunning, .error].contains(state), active == 0 else {
            throw StreamsError.illegalState("cleanUp() needs a created or closed application (state: \(state))")
        }
        try StateDirectory(config: config).delete()
    }

    // MARK: Stopping

    /// Stops processing: every thread commits, closes its tasks (flushing and closing stores) and
    /// leaves the group, so its tasks move to other instances at once. Waits up to `timeout`
    /// for the threads; threads still running then go on closing, and the state stays
    /// ``State/pendingShutdown`` (``cleanUp()`` is refused) until the last one ends.
    public func close(timeout: Duration = .seconds(60)) async {
        if transition(to: .notRunning, from: [.created]) { return }
        _ = transition(to: .pendingShutdown, from: [.rebalancing, .running])
        let threads = shared.withLock { $0.threads }
        for thread in threads { thread.requestStop() }
        let first = FirstOutcome()
        let timer = Task { try? await Task.sleep(for: timeout); first.resume(returning: false) }
        let ended = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            first.set(continuation)
            Task { await self.awaitThreads(); first.resume(returning: true) }
        }
        timer.cancel()
        guard ended else {
            logger.warning("stream threads still running after \(timeout): the application stays \(state.rawValue) until they end")
            Task { await self.awaitThreads(); self.finishClose() }
            return
        }
        finishClose()
    }

    private func finishClose() {
        if !transition(to: .notRunning, from: [.pendingShutdown]) {
            _ = transition(to: .error, from: [.pendingError])
        }
    }

    /// Resumes a continuation with whichever outcome comes first (an outcome that comes before
    /// the continuation is kept for it).
    private final class FirstOutcome: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<Bool, Never>?, outcome: Bool?)>((nil, nil))
        func set(_ continuation: CheckedContinuation<Bool, Never>) {
            let early = state.withLock { state -> Bool? in
                if let outcome = state.outcome { return outcome }
                state.continuation = continuation
                return nil
            }
            if let early { continuation.resume(returning: early) }
        }
        func resume(returning outcome: Bool) {
            let waiting = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard state.outcome == nil else { return nil }
                state.outcome = outcome
                return state.continuation.take()
            }
            waiting?.resume(returning: outcome)
        }
    }

    var currentThreads: [StreamThread] { shared.withLock { $0.threads } }

    /// Returns when every stream thread has ended (and `start()`, should it still be starting them).
    func awaitThreads() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let inactive = shared.withLock { shared -> Bool in
                guard shared.active > 0 else { return true }
                shared.whenInactive.append(continuation)
                return false
            }
            if inactive { continuation.resume() }
        }
    }

    private func endActivity() {
        let waiting = shared.withLock { shared -> [CheckedContinuation<Void, Never>] in
            shared.active -= 1
            guard shared.active == 0 else { return [] }
            defer { shared.whenInactive.removeAll() }
            return shared.whenInactive
        }
        for continuation in waiting { continuation.resume() }
    }
}

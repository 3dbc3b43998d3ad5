import KafkaProtocol
import Logging
import NIOCore

/// Reads records from Kafka, alone (`assign`) or as a member of a consumer group (`subscribe`).
///
/// Group membership, heartbeats, fetching and offset lookups run in the background; the
/// application calls `poll` (or iterates `records`) and gets what has been fetched. While it
/// processes one batch the next is already being fetched, up to `maxBufferedBytes`.
///
/// ```swift
/// var configuration = try ConsumerConfiguration(bootstrap: "127.0.0.1:9092", groupId: "billing")
/// configuration.autoOffsetReset = .earliest
/// let consumer = KafkaConsumer(configuration: configuration)
/// try await consumer.subscribe(topics: ["invoices"])
/// for try await record in consumer.records {
///     print(record.offset, String(buffer: record.value!))
/// }
/// await consumer.close()
/// ```
///
/// Positions advance as `poll` returns records. With `enableAutoCommit` those positions are
/// committed periodically, before partitions are revoked and on `close`, so a record counts as
/// consumed once `poll` returned it. For at-least-once processing turn auto commit off and
/// `commit` after processing, including from `RebalanceListener.onRevoked`.
///
/// Call `close()` when done: it leaves the group, so the partitions move to other members at
/// once instead of after the session timeout, and it stops the background tasks.
public actor KafkaConsumer {
    public nonisolated let configuration: ConsumerConfiguration
    let cluster: KafkaCluster
    let ownsCluster: Bool
    let logger: Logger

    // MARK: Subscription and partitions

    var subscription = TopicSubscription.none
    var listener: RebalanceListener?
    var partitions: [TopicPartition: AssignedPartition] = [:]
    /// Assigned partitions in a fixed order, for round-robin delivery and fetch fairness.
    var partitionOrder: [TopicPartition] = []
    var pollCursor = 0
    var bufferedBytes = 0
    /// Errors for the application, thrown by the next `poll`.
    var pendingErrors: [any Error] = []
    /// Woken when records, errors or assignment changes arrive.
    let dataSignal = WakeSignal()
    /// Set by ``wakeup()``: the poll in progress, or else the next one, returns at once.
    var wakeupRequested = false

    // MARK: Fetching

    var metadataSnapshot = ClusterMetadata()
    var fetchesInFlight: Set<Int32> = []
    var metadataRefreshInFlight = false
    var fetchRetryTimerAt: ContinuousClock.Instant?
    /// Rotates which partition leads each fetch request, so a partition late in the request
    /// is not starved by the response size limit (KIP-74).
    var fetchRotation = 0

    // MARK: Positions

    var positionLookupInFlight = false
    var positionLookupAgain = false
    /// Woken when positions are resolved.
    let positionSignal = WakeSignal()

    // MARK: Group

    var membership = GroupMembership()
    var coordinatorConnection: KafkaConnection?
    /// Woken when the group loop has something to do (rejoin, close).
    let groupSignal = WakeSignal()
    /// Async commits run one after another, so they reach the coordinator in order.
    var lastAsyncCommit: Task<Void, Never>?
    /// Offsets last committed by this consumer, so auto commit skips unchanged positions.
    var lastCommitted: [TopicPartition: Int64] = [:]
    var lastPollAt: ContinuousClock.Instant?
    /// Set while leaving the group (close, unsubscribe): the group loop must not rejoin meanwhile.
    var leaving = false

    // MARK: Lifecycle

    var closed = false
    var backgroundTasks: [Task<Void, Never>] = []
    var groupTasksStarted = false

    /// Changes of the assignment, for observers; the consumer does not wait for readers (a
    /// `RebalanceListener` is the way to act before partitions move). Keeps the last 1000.
    public nonisolated let rebalanceEvents: AsyncStream<RebalanceEvent>
    let rebalanceEventSink: AsyncStream<RebalanceEvent>.Continuation

    /// A consumer with its own connections to the cluster.
    public init(configuration: ConsumerConfiguration, logger: Logger = Logger(label: "rivulet.consumer")) {
        self.init(configuration: configuration, cluster: KafkaCluster(configuration: configuration.client, logger: logger), ownsCluster: true, logger: logger)
    }

    /// A consumer sharing `cluster`'s connections and metadata (with a producer, say).
    /// `configuration.client` is then ignored, and `close()` leaves the cluster open.
    public init(configuration: ConsumerConfiguration, cluster: KafkaCluster, logger: Logger = Logger(label: "rivulet.consumer")) {
        self.init(configuration: configuration, cluster: cluster, ownsCluster: false, logger: logger)
    }

    private init(configuration: ConsumerConfiguration, cluster: KafkaCluster, ownsCluster: Bool, logger: Logger) {
        self.configuration = configuration
        self.cluster = cluster
        self.ownsCluster = ownsCluster
        self.logger = logger
        (rebalanceEvents, rebalanceEventSink) = AsyncStream.makeStream(of: RebalanceEvent.self, bufferingPolicy: .bufferingNewest(1000))
    }

    /// The records returned by successive polls, one at a time. Ends when the consumer closes.
    public nonisolated var records: ConsumerRecordSequence { ConsumerRecordSequence(consumer: self) }

    func ensureOpen() throws {
        if closed { throw KafkaConsumerError.closed }
    }

    // MARK: Subscribing

    /// Joins the group (`group.id`) to read `topics`; the group decides which partitions this
    /// member reads. Calling it again changes the subscription (and rebalances).
    public func subscribe(topics: [String], listener: RebalanceListener? = nil) throws {
        try ensureOpen()
        guard configuration.groupId != nil else { throw KafkaConsumerError.groupIdRequired(operation: "subscribe") }
        if case .manual = subscription { throw KafkaConsumerError.subscriptionConflict }
        if let listener { self.listener = listener }
        let wanted = Set(topics)
        if case let .topics(current) = subscription, current == wanted { return }
        subscription = .topics(wanted)
        membership.requestRejoin("subscription changed")
        startGroupTasks()
        groupSignal.signal()
    }

    /// Joins the group to read every topic whose whole name matches `pattern` (a regular
    /// expression, as in Java's `subscribe(Pattern)`), including topics created later: the
    /// match is re-evaluated every `metadata.max.age.ms`. Internal topics are excluded.
    public func subscribe(pattern: String, listener: RebalanceListener? = nil) throws {
        try ensureOpen()
        guard configuration.groupId != nil else { throw KafkaConsumerError.groupIdRequired(operation: "subscribe") }
        if case .manual = subscription { throw KafkaConsumerError.subscriptionConflict }
        if let listener { self.listener = listener }
        subscription = .pattern(try TopicPattern(pattern), matched: [])
        membership.requestRejoin("subscription changed")
        startGroupTasks()
        groupSignal.signal()
    }

    /// Reads exactly these partitions, without group membership. Partitions already assigned
    /// keep their position when `start` is `.committed`; others start as `start` says.
    /// Commits still go to `group.id` when one is set.
    public func assign(_ partitions: [TopicPartition: StartOffset]) throws {
        try ensureOpen()
        if subscription.isGroupManaged { throw KafkaConsumerError.subscriptionConflict }
        subscription = partitions.isEmpty ? .none : .manual
        for removed in self.partitions.keys where partitions[removed] == nil {
            removePartition(removed)
        }
        for (partition, start) in partitions.sorted(by: { $0.key < $1.key }) {
            if self.partitions[partition] != nil && start == .committed { continue }
            addPartition(partition, start: start)
        }
        startGroupTasks()
        resolvePositions()
        scheduleFetches()
        dataSignal.signal()
    }

    /// Reads exactly these partitions from the committed offsets (else `auto.offset.reset`).
    public func assign(_ partitions: [TopicPartition]) throws {
        try assign(Dictionary(partitions.map { ($0, StartOffset.committed) }, uniquingKeysWith: { first, _ in first }))
    }

    /// Stops reading: a group member revokes its partitions (running the listener, committing
    /// when auto commit is on) and leaves the group; a manual assignment is dropped.
    public func unsubscribe() async {
        if subscription.isGroupManaged {
            leaving = true
            await leaveGroup(reason: "unsubscribed")
        }
        subscription = .none
        leaving = false
        for partition in Array(partitions.keys) { removePartition(partition) }
        dataSignal.signal()
    }

    // MARK: Assignment bookkeeping

    /// Starts tracking a partition; without an explicit start it waits for the committed offset.
    func addPartition(_ partition: TopicPartition, start: StartOffset) {
        if let existing = partitions[partition] { bufferedBytes -= existing.bufferedBytes }
        var state: AssignedPartition
        switch start {
        case .committed: state = AssignedPartition(status: .awaitingCommitted)
        case .beginning: state = AssignedPartition(status: .awaitingReset(.earliest))
        case .end: state = AssignedPartition(status: .awaitingReset(.latest))
        case let .offset(offset):
            state = AssignedPartition(status: .ready)
            _ = state.seek(to: offset)
        }
        if let previous = partitions[partition] { state.epoch = previous.epoch + 1 }
        if partitions[partition] == nil { partitionOrder.append(partition) }
        partitions[partition] = state
    }

    func removePartition(_ partition: TopicPartition) {
        guard let state = partitions.removeValue(forKey: partition) else { return }
        bufferedBytes -= state.bufferedBytes
        partitionOrder.removeAll { $0 == partition }
        if pollCursor >= partitionOrder.count { pollCursor = 0 }
    }

    /// The partitions this consumer holds now.
    public func assignment() -> Set<TopicPartition> {
        Set(partitions.keys)
    }

    /// The topics of the current subscription (for a pattern, the topics it matches now).
    public func subscribedTopics() -> Set<String> {
        subscription.topics
    }

    // MARK: Positions

    /// Moves the position of an assigned partition: the next `poll` returns records from `offset`.
    public func seek(_ partition: TopicPartition, to offset: Int64) throws {
        guard partitions[partition] != nil else { throw KafkaConsumerError.notAssigned(partition) }
        bufferedBytes -= partitions[partition]!.seek(to: offset)
        scheduleFetches()
    }

    /// Moves the positions to the first offset still in the log.
    public func seekToBeginning(_ partitions: [TopicPartition]) throws {
        try requestReset(partitions, .earliest)
    }

    /// Moves the positions to the end of the log (the last stable offset under read_committed).
    public func seekToEnd(_ partitions: [TopicPartition]) throws {
        try requestReset(partitions, .latest)
    }

    private func requestReset(_ targets: [TopicPartition], _ strategy: OffsetResetStrategy) throws {
        for partition in targets where partitions[partition] == nil { throw KafkaConsumerError.notAssigned(partition) }
        for partition in targets { bufferedBytes -= partitions[partition]!.requestPosition(.awaitingReset(strategy)) }
        resolvePositions()
    }

    /// The offset of the next record `poll` returns for the partition, looked up first
    /// (committed offset or reset) when not yet known.
    public func position(_ partition: TopicPartition) async throws -> Int64 {
        let deadline = ContinuousClock.now + configuration.client.requestTimeout
        while true {
            try ensureOpen()
            guard let state = partitions[partition] else { throw KafkaConsumerError.notAssigned(partition) }
            switch state.status {
            case .ready: return state.position
            case .failed:
                if let index = pendingErrors.firstIndex(where: { Self.error($0, concerns: partition) }) { throw pendingErrors.remove(at: index) }
                throw KafkaConsumerError.noOffset(partition)
            case .awaitingCommitted, .awaitingReset: break
            }
            resolvePositions()
            let now = ContinuousClock.now
            guard now < deadline else {
                throw KafkaClientError.requestTimedOut(broker: configuration.client.bootstrapServers[0], api: "position of \(partition)",
                                                       timeoutMs: configuration.client.requestTimeout.milliseconds)
            }
            await positionSignal.wait(timeout: deadline - now)
        }
    }

    static func error(_ error: any Error, concerns partition: TopicPartition) -> Bool {
        switch error as? KafkaConsumerError {
        case let .noOffset(p)?, let .offsetOutOfRange(p, _)?, let .corruptRecord(p, _, _)?: return p == partition
        default: return false
        }
    }

    // MARK: Flow control

    /// Stops returning and fetching records of these partitions until `resume`; positions and
    /// group membership are unaffected.
    public func pause(_ targets: [TopicPartition]) {
        for partition in targets { partitions[partition]?.paused = true }
    }

    public func resume(_ targets: [TopicPartition]) {
        for partition in targets { partitions[partition]?.paused = false }
        scheduleFetches()
        dataSignal.signal()
    }

    /// The assigned partitions currently paused.
    public func paused() -> Set<TopicPartition> {
        Set(partitions.filter { $0.value.paused }.keys)
    }

    // MARK: Progress

    /// The watermarks of a partition as of its last fetch, nil before the first.
    public func watermarks(_ partition: TopicPartition) -> PartitionWatermarks? {
        partitions[partition]?.watermarks
    }

    /// Records between the position and the end of the partition: the high watermark, or the
    /// last stable offset under read_committed; as of the last fetch, nil before the first.
    public func lag(_ partition: TopicPartition) -> Int64? {
        partitions[partition]?.lag(readCommitted: configuration.isolationLevel == .readCommitted)
    }

    /// The lag of every assigned partition whose lag is known.
    public func lags() -> [TopicPartition: Int64] {
        partitions.compactMapValues { $0.lag(readCommitted: configuration.isolationLevel == .readCommitted) }
    }

    /// The group identity a transactional producer passes to `sendOffsetsToTransaction`;
    /// nil without `group.id`.
    public func groupMetadata() -> ConsumerGroupMetadata? {
        guard let groupId = configuration.groupId else { return nil }
        return ConsumerGroupMetadata(groupId: groupId, generationId: membership.generationId, memberId: membership.memberId,
                                     groupInstanceId: configuration.groupInstanceId)
    }

    // MARK: Closing

    /// Commits (with auto commit), revokes the assignment through the listener, leaves the
    /// group (dynamic members only: a static member keeps its place until its session ends),
    /// and closes the connections. Polls waiting now and later throw `closed`.
    public func close() async {
        guard !closed, !leaving else { return }
        leaving = true
        if subscription.isGroupManaged {
            await leaveGroup(reason: "consumer closed")
        } else if configuration.enableAutoCommit, configuration.groupId != nil {
            do { try await commit() } catch { logger.warning("final commit failed: \(error)") }
        }
        closed = true
        for task in backgroundTasks { task.cancel() }
        lastAsyncCommit?.cancel()
        backgroundTasks.removeAll()
        groupSignal.signal()
        dataSignal.signal()
        positionSignal.signal()
        if let connection = coordinatorConnection {
            coordinatorConnection = nil
            await connection.close()
        }
        if ownsCluster { await cluster.close() }
        rebalanceEventSink.finish()
    }
}

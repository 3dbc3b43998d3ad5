import KafkaClient
import KafkaProtocol
import Logging
import NIOCore
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One stream thread: a member of the application's consumer group with its own producer and
/// restore consumer, running the tasks the group assigns it.
///
/// Its loop polls input, buffers records in the tasks that read them, processes them in
/// timestamp order per task, hands outputs to the producer, punctuates and commits every
/// `commit.interval`. Rebalance callbacks (run by the consumer's group task) and the loop take
/// turns through ``exclusive(_:)``: the loop gives way only while it waits for input.
actor StreamThread {
    let name: String
    private let topology: Topology
    private let config: StreamsConfig
    private let layout: TaskLayout
    private let consumer: KafkaConsumer
    private let producer: StreamsProducer
    private let restorer: ChangelogRestorer
    private let restoreConsumer: KafkaConsumer
    private let collector: KafkaRecordCollector
    private let admin: KafkaAdmin
    private let cache: RecordCache
    private let member: StreamsPartitionAssignor.MemberState
    private let stateDirectory: StateDirectory
    private let publish: @Sendable (ThreadMetadata) -> Void
    private let logger: Logger

    private var tasks: [TaskId: StreamTask] = [:]
    /// Tasks whose stores are not restored yet; their input partitions are paused.
    private var restoring: Set<TaskId> = []
    /// The task of each changelog partition of the restore in progress; `nil` when none is.
    private var restoreOwners: [TopicPartition: TaskId]?
    private var taskByPartition: [TopicPartition: TaskId] = [:]
    private var state = ThreadMetadata.State.created
    private var lastCommit = ContinuousClock.now
    /// Set from any thread (a signal handler's task, ``KafkaStreams/close(timeout:)``); the loop
    /// sees it within one poll interval.
    nonisolated let stopRequested = Mutex(false)
    /// A failure inside a rebalance callback, rethrown by the loop.
    private var callbackFailure: (any Error)?
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// The thread this actor runs on: processors may block, and must not block the cooperative pool.
    private let executor: DedicatedThreadExecutor

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    struct Clients: Sendable {
        let consumer: KafkaConsumer
        let restoreConsumer: KafkaConsumer
        let producer: StreamsProducer
        let admin: KafkaAdmin
    }

    init(
        name: String, topology: Topology, config: StreamsConfig, layout: TaskLayout, clients: Clients,
        member: StreamsPartitionAssignor.MemberState, sinkPartitionCounts: [String: Int32],
        restoreListener: StateRestoreListener?, publish: @escaping @Sendable (ThreadMetadata) -> Void, logger: Logger
    ) {
        self.name = name
        self.executor = DedicatedThreadExecutor(name: name)
        self.topology = topology
        self.config = config
        self.layout = layout
        self.consumer = clients.consumer
        self.restoreConsumer = clients.restoreConsumer
        self.producer = clients.producer
        self.admin = clients.admin
        var logger = logger
        logger[metadataKey: "thread"] = "\(name)"
        self.logger = logger
        self.restorer = ChangelogRestorer(
            consumer: clients.restoreConsumer, admin: clients.admin, listener: restoreListener, logger: logger)
        let changelogs = Set(topology.internalTopics(applicationId: config.applicationId).compactMap { requirement -> String? in
            if case .changelog = requirement.kind { return requirement.name }
            return nil
        })
        let collector = KafkaRecordCollector(producer: clients.producer, changelogTopics: changelogs)
        collector.partitionCounts = sinkPartitionCounts
        self.collector = collector
        self.cache = RecordCache(maxBytes: config.cacheMaxBytesBuffering)
        self.member = member
        self.stateDirectory = StateDirectory(config: config)
        self.publish = publish
    }

    deinit {
        executor.shutdown()
    }

    // MARK: The loop

    /// Runs until ``requestStop()`` or a failure; always leaves the group and closes its clients.
    func run() async throws {
        setState(.starting)
        do {
            let listener = RebalanceListener(
                onAssigned: { [weak self] partitions in await self?.partitionsAssigned(partitions) },
                onRevoked: { [weak self] partitions in await self?.partitionsRevoked(partitions, lost: false) },
                onLost: { [weak self] partitions in await self?.partitionsRevoked(partitions, lost: true) })
            try await consumer.subscribe(topics: layout.allSourceTopics.sorted(), listener: listener)
            while !stopRequested.withLock({ $0 }) {
                if let callbackFailure { throw callbackFailure }
                try await exclusive { try await self.restoreAssignedTasks() }
                // While stores restore, the poll only serves the group (and running tasks), briefly.
                let records = try await consumer.poll(timeout: restoring.isEmpty ? config.pollInterval : .milliseconds(1))
                // A rebalance callback that failed during the poll may have left revoked tasks' records in it.
                if let callbackFailure { throw callbackFailure }
                try await exclusive { try await self.processAndMaybeCommit(records) }
            }
        } catch {
            logger.error("stream thread failed: \(error)")
            await shutDown(clean: false)
            throw error
        }
        await shutDown(clean: true)
    }

    nonisolated func requestStop() {
        stopRequested.withLock { $0 = true }
    }

    /// Runs `body` while no rebalance callback does, and the other way round.
    private func exclusive<T>(_ body: () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }

    private func processAndMaybeCommit(_ records: [ConsumerRecord]) async throws {
        if !records.isEmpty { try route(records) }
        for id in tasks.keys.sorted() where !restoring.contains(id) {
            guard let task = tasks[id] else { continue }
            while try task.process() {
                try task.maybePunctuateStreamTime()
                if collector.pendingCount >= 5_000 { try await collector.drain() }
            }
        }
        let now = Self.wallClockMilliseconds()
        for (id, task) in tasks where !restoring.contains(id) {
            try task.maybePunctuateWallClockTime(now: now)
        }
        try await collector.drain()
        if ContinuousClock.now - lastCommit >= config.commitInterval || tasks.values.contains(where: \.commitRequested) {
            try await commit()
        }
    }

    /// Buffers records in their tasks. Records of a partition the thread no longer owns (revoked
    /// while they were on their way) are dropped: their offsets were not committed.
    private func route(_ records: [ConsumerRecord]) throws {
        // A poll returns each partition's records together: hand over runs of one partition,
        // comparing topic and partition of neighbours instead of hashing every record. Each run
        // goes straight into its task's queue (a partition's runs, should a poll ever interleave
        // them, arrive there in order).
        var start = records.startIndex
        while start < records.endIndex {
            var end = start + 1
            while end < records.endIndex, records[end].partition == records[start].partition,
                  records[end].topic == records[start].topic {
                end += 1
            }
            let partition = records[start].topicPartition
            // A restoring task's partitions are paused; should records come anyway, they wait in its queues.
            if let id = taskByPartition[partition], let task = tasks[id] {
                try task.addRecords(records[start..<end], from: partition) { record in
                    RawRecord(
                        topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp,
                        key: record.key, value: record.value, headers: record.headers)
                }
            }
            start = end
        }
    }

    /// Flushes every running task, waits until their outputs and changelog writes are
    /// acknowledged, commits their input offsets, then checkpoints their stores.
    /// `closing`: the tasks close after this commit, so offsets it fails to commit are dropped.
    private func commit(_ only: Set<TaskId>? = nil, closing: Bool = false) async throws {
        lastCommit = .now
        let committing = tasks.filter { id, task in
            !restoring.contains(id) && (only?.contains(id) ?? true) && (task.commitNeeded || task.commitRequested)
        }
        guard !committing.isEmpty else { return }
        var offsets: [TopicPartition: Int64] = [:]
        for id in committing.keys.sorted() {
            offsets.merge(try committing[id]!.prepareCommit()) { _, new in new }
        }
        try await collector.acknowledge()
        do {
            try await producer.commit(offsets, through: consumer)
        } catch let error as KafkaConsumerError {
            guard case .commitFailed = error else { throw error }
            // The group moved on: these tasks are being reassigned, and whoever gets them
            // processes from the last committed offsets (at least once).
            logger.warning("offset commit refused, the group is rebalancing: \(error)")
            if closing { warnDropped(offsets) }
            return
        } catch let error as KafkaClientError where Self.isTransient(error) {
            // The coordinator is unreachable for now: the next commit carries these offsets too.
            if closing {
                logger.warning("offset commit failed while closing tasks: \(error)")
                warnDropped(offsets)
            } else {
                logger.warning("offset commit failed, retried at the next commit: \(error)")
            }
            return
        }
        for task in committing.values { try task.postCommit() }
    }

    /// Offsets of closing tasks that could not be committed are not retried: whoever runs the
    /// tasks next starts from the offsets committed before, processing these records again.
    private func warnDropped(_ offsets: [TopicPartition: Int64]) {
        guard !offsets.isEmpty else { return }
        let listed = offsets.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: ", ")
        logger.warning("offsets not committed and dropped as their tasks close (their records will be processed again): \(listed)")
    }

    // MARK: Rebalancing

    private func partitionsAssigned(_ partitions: [TopicPartition]) async {
        do {
            try await exclusive {
                guard let info = self.member.latest else {
                    throw StreamsError.assignment("partitions \(partitions.sorted()) were assigned without the streams assignment that names their tasks")
                }
                guard info.errorCode == .none else {
                    throw StreamsError.assignment(info.errorMessage)
                }
                try await self.createTasks(info.activeTasks, reading: partitions)
            }
            // The loop's poll would otherwise sleep out its interval before the new tasks'
            // stores start restoring (their input partitions are paused until then).
            await consumer.wakeup()
        } catch {
            callbackFailure = callbackFailure ?? error
        }
    }

    /// Creates the assigned tasks; their input partitions are the partitions the consumer was
    /// assigned. A partition no assigned task reads is an error: its records would be fetched
    /// and dropped.
    private func createTasks(_ assigned: [TaskId], reading partitions: [TopicPartition]) async throws {
        let assignedTasks = Set(assigned)
        var inputs: [TaskId: [TopicPartition]] = [:]
        for partition in partitions {
            guard let id = layout.task(of: partition), assignedTasks.contains(id) else {
                throw StreamsError.assignment("partition \(partition) was assigned to this thread, but none of its tasks \(assigned.sorted()) reads it")
            }
            inputs[id, default: []].append(partition)
        }
        var paused: [TopicPartition] = []
        if assigned.contains(where: { tasks[$0] == nil }) { await abandonRestore() }
        for id in assigned where tasks[id] == nil {
            let task = try StreamTask(
                id: id, topology: topology, config: config, collector: collector.forTask(id),
                recordCache: cache, wallClockTime: Self.wallClockMilliseconds())
            tasks[id] = task
            restoring.insert(id)
            for partition in inputs[id] ?? [] {
                taskByPartition[partition] = id
                paused.append(partition)
            }
        }
        if !paused.isEmpty { await consumer.pause(paused) }
        logger.info("assigned tasks \(tasks.keys.sorted())")
        setState(restoring.isEmpty ? .running : .partitionsAssigned)
    }

    /// Commits and closes the tasks reading `partitions` (all of them under the eager protocol).
    /// Lost partitions may already be someone else's: their tasks close without a commit, and
    /// their stores are wiped, since they may hold updates the changelog lacks.
    private func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool) async {
        do {
            try await exclusive {
                let revoked = Set(partitions)
                let closing = Set(self.taskByPartition.filter { revoked.contains($0.key) }.values)
                guard !closing.isEmpty else { return }
                self.setState(.partitionsRevoked)
                if lost {
                    try await self.closeTasks(closing, clean: false)
                } else {
                    try await self.commitAndClose(closing)
                }
            }
        } catch {
            callbackFailure = callbackFailure ?? error
        }
    }

    /// Commits the tasks, then closes them clean; when either fails, whatever is still open
    /// closes dirty and the failure is rethrown.
    private func commitAndClose(_ ids: Set<TaskId>) async throws {
        do {
            try await commit(ids, closing: true)
            try await closeTasks(ids, clean: true)
        } catch {
            logger.error("closing tasks \(ids.sorted()) failed, closing them without committing: \(error)")
            try? await closeTasks(ids, clean: false)
            throw error
        }
    }

    private func closeTasks(_ ids: Set<TaskId>, clean: Bool) async throws {
        if !restoring.isDisjoint(with: ids) { await abandonRestore() }
        var firstError: (any Error)?
        var dirty: Set<TaskId> = clean ? [] : ids
        for id in ids.sorted() {
            guard let task = tasks.removeValue(forKey: id) else { continue }
            restoring.remove(id)
            if clean {
                // A failed clean close has closed the task dirty.
                do { try task.close() } catch { firstError = firstError ?? error; dirty.insert(id) }
            } else {
                task.closeDirty()
            }
            // A partly restored store is fine to keep: its checkpoint is the one it started from.
            if dirty.contains(id) { stateDirectory.wipe(id) }
        }
        taskByPartition = taskByPartition.filter { ids.contains($0.value) == false }
        collector.discardPending(of: dirty)
        if clean { try await collector.acknowledge() }
        logger.info("closed tasks \(ids.sorted())\(clean ? "" : " without committing")")
        if let firstError { throw firstError }
    }

    // MARK: Restoration

    /// Restores the stores of newly assigned tasks a step at a time (about one poll interval per
    /// loop iteration, so rebalance callbacks and the group's heartbeat are never held up by a
    /// long restore), then lets them process.
    ///
    /// A task whose changelog no longer continues its store (a checkpoint the changelog does not
    /// reach, a log truncated or records deleted beneath the restore) is corrupted: it alone is
    /// closed dirty, its state wiped, and it is created and restored again from the log start
    /// (Kafka Streams' corrupted-task handling). A restore that makes no progress stops the thread.
    private func restoreAssignedTasks() async throws {
        guard !restoring.isEmpty else { return }
        if restoreOwners == nil {
            for id in restoring.sorted() {
                guard let task = tasks[id] else { continue }
                let invalid = try await restorer.invalidCheckpoints(task.restoreStartOffsets)
                guard !invalid.isEmpty else { continue }
                logger.warning("task \(id): the changelog no longer continues the checkpoint of \(invalid.sorted()) (see above), restoring from scratch")
                try recreateCorrupted(id)
            }
            var starts: [TopicPartition: Int64?] = [:]
            var owners: [TopicPartition: TaskId] = [:]
            for id in restoring {
                guard let task = tasks[id] else { continue }
                for (partition, offset) in task.restoreStartOffsets {
                    starts[partition] = offset
                    owners[partition] = id
                }
            }
            guard try await restorer.begin(starts) else {
                try await finishRestoration(restored: 0)
                return
            }
            restoreOwners = owners
        }
        let owners = restoreOwners ?? [:]
        do {
            let restored = try await restorer.step(budget: config.pollInterval) { partition, records in
                guard let id = owners[partition] else { return }
                try self.tasks[id]?.restore(partition, records: records)
            }
            guard let restored else { return }
            restoreOwners = nil
            try await finishRestoration(restored: restored)
        } catch let error as ChangelogRestorationError {
            restoreOwners = nil
            switch error {
            case .stalled:
                throw StreamsError.restoration(error)
            case .truncated, .recordsDeleted:
                // Other tasks keep what they restored: the next step goes on from there.
                guard let id = owners[error.partition] else { throw StreamsError.restoration(error) }
                logger.warning("task \(id): \(error); restoring it from scratch")
                try recreateCorrupted(id)
            }
        } catch {
            restoreOwners = nil
            throw error
        }
    }

    /// Every restoring task is restored: initializes their processors and resumes their input.
    private func finishRestoration(restored: Int) async throws {
        var resumed: [TopicPartition] = []
        for id in restoring.sorted() {
            try tasks[id]?.initializeProcessors()
            resumed += taskByPartition.filter { $0.value == id }.map(\.key)
        }
        logger.info("restored \(restored) changelog records for tasks \(restoring.sorted())")
        restoring.removeAll()
        await consumer.resume(resumed)
        setState(.running)
    }

    /// Abandons a restore in progress when the restoring tasks change; it begins again with the
    /// tasks of then, each from what it has restored.
    private func abandonRestore() async {
        guard restoreOwners != nil else { return }
        restoreOwners = nil
        await restorer.abort()
    }

    /// Closes a corrupted task dirty, wipes its state, and creates it again, to be restored
    /// from its changelogs' start.
    private func recreateCorrupted(_ id: TaskId) throws {
        tasks.removeValue(forKey: id)?.closeDirty()
        stateDirectory.wipe(id)
        tasks[id] = try StreamTask(
            id: id, topology: topology, config: config, collector: collector.forTask(id),
            recordCache: cache, wallClockTime: Self.wallClockMilliseconds())
    }

    // MARK: Shutdown

    private func shutDown(clean: Bool) async {
        setState(.pendingShutdown)
        do {
            try await exclusive {
                if clean {
                    try await self.commitAndClose(Set(self.tasks.keys))
                } else {
                    try await self.closeTasks(Set(self.tasks.keys), clean: false)
                }
            }
        } catch {
            logger.error("closing tasks failed: \(error)")
        }
        // Records still being handed to the producer get there before it closes (after a dirty
        // close nobody waits for their delivery; their input is processed again).
        try? await collector.handedOver()
        await consumer.close()
        await restoreConsumer.close()
        await producer.close()
        await admin.cluster.close()
        setState(.dead)
    }

    private func setState(_ new: ThreadMetadata.State) {
        state = new
        publish(ThreadMetadata(threadName: name, state: new, activeTasks: tasks.keys.sorted()))
    }

    /// Failures that a later attempt may not meet: a lost connection, a timeout.
    static func isTransient(_ error: KafkaClientError) -> Bool {
        switch error {
        case .connectionFailed, .connectionClosed, .requestTimedOut: return true
        default: return false
        }
    }

    static func wallClockMilliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }
}

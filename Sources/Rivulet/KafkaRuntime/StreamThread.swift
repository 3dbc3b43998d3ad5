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
        let collector = KafkaRecordCollector(producer: clients.producer, admin: clients.admin, changelogTopics: changelogs)
        collector.partitionCounts = sinkPartitionCounts
        self.collector = collector
        self.cache = RecordCache(maxBytes: config.cacheMaxBytesBuffering)
        self.member = member
        self.stateDirectory = StateDirectory(config: config)
        self.publish = publish
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
                let records = try await consumer.poll(timeout: config.pollInterval)
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
        // A poll returns each partition's records together: hand over runs of one partition
        // (merging a partition's runs first, should a poll ever interleave them), comparing
        // topic and partition of neighbours instead of hashing every record.
        var batches: [TopicPartition: [RawRecord]] = [:]
        var start = records.startIndex
        while start < records.endIndex {
            var end = start + 1
            while end < records.endIndex, records[end].partition == records[start].partition,
                  records[end].topic == records[start].topic {
                end += 1
            }
            var run = batches.removeValue(forKey: records[start].topicPartition) ?? []
            run.reserveCapacity(run.count + end - start)
            for record in records[start..<end] {
                run.append(RawRecord(
                    topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp,
                    key: record.key, value: record.value, headers: record.headers))
            }
            batches[records[start].topicPartition] = run
            start = end
        }
        for (partition, batch) in batches {
            // A restoring task's partitions are paused; should records come anyway, they wait in its queues.
            guard let id = taskByPartition[partition], let task = tasks[id] else { continue }
            try task.addRecords(batch, from: partition)
        }
    }

    /// Flushes every running task, waits until their outputs and changelog writes are
    /// acknowledged, commits their input offsets, then checkpoints their stores.
    private func commit(_ only: Set<TaskId>? = nil) async throws {
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
            return
        } catch let error as KafkaClientError where Self.isTransient(error) {
            // The coordinator is unreachable for now: the next commit carries these offsets too.
            logger.warning("offset commit failed, retried at the next commit: \(error)")
            return
        }
        for task in committing.values { try task.postCommit() }
    }

    // MARK: Rebalancing

    private func partitionsAssigned(_ partitions: [TopicPartition]) async {
        do {
            try await exclusive {
                guard let info = self.member.latest else { return }
                guard info.errorCode == .none else {
                    throw StreamsError.assignment(info.errorMessage)
                }
                try await self.createTasks(info.activeTasks)
            }
        } catch {
            callbackFailure = callbackFailure ?? error
        }
    }

    private func createTasks(_ assigned: [TaskId]) async throws {
        let counts = try await partitionCountsOfSources()
        let inputs = layout.tasks(partitionCounts: counts)
        var paused: [TopicPartition] = []
        for id in assigned where tasks[id] == nil {
            let task = try StreamTask(
                id: id, topology: topology, config: config, collector: collector,
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

    private func partitionCountsOfSources() async throws -> [String: Int32] {
        try await admin.cluster.refreshMetadata(topics: layout.allSourceTopics.sorted())
            .partitionCounts(of: layout.allSourceTopics)
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
                if !lost { try await self.commit(closing) }
                try await self.closeTasks(closing, clean: !lost)
            }
        } catch {
            callbackFailure = callbackFailure ?? error
        }
    }

    private func closeTasks(_ ids: Set<TaskId>, clean: Bool) async throws {
        var firstError: (any Error)?
        for id in ids.sorted() {
            guard let task = tasks.removeValue(forKey: id) else { continue }
            restoring.remove(id)
            do { try task.close() } catch { firstError = firstError ?? error }
            // A partly restored store is fine to keep: its checkpoint is the one it started from.
            if !clean { stateDirectory.wipe(id) }
        }
        taskByPartition = taskByPartition.filter { ids.contains($0.value) == false }
        if clean { try await collector.acknowledge() } else { collector.discardPending() }
        logger.info("closed tasks \(ids.sorted())\(clean ? "" : " without committing")")
        if let firstError { throw firstError }
    }

    // MARK: Restoration

    /// Restores the stores of newly assigned tasks, then lets them process.
    private func restoreAssignedTasks() async throws {
        guard !restoring.isEmpty else { return }
        // A checkpoint past the changelog's end: the store no longer matches it; start over.
        for id in restoring.sorted() {
            guard let task = tasks[id] else { continue }
            let invalid = try await restorer.invalidCheckpoints(task.restoreStartOffsets)
            guard !invalid.isEmpty else { continue }
            logger.warning("task \(id): checkpoint past the end of \(invalid.sorted()), restoring from scratch")
            try task.close()
            stateDirectory.wipe(id)
            tasks[id] = try StreamTask(
                id: id, topology: topology, config: config, collector: collector,
                recordCache: cache, wallClockTime: Self.wallClockMilliseconds())
        }
        var starts: [TopicPartition: Int64?] = [:]
        var owner: [TopicPartition: StreamTask] = [:]
        for id in restoring {
            guard let task = tasks[id] else { continue }
            for (partition, offset) in task.restoreStartOffsets {
                starts[partition] = offset
                owner[partition] = task
            }
        }
        let restored = try await restorer.restore(starts) { partition, records in
            try owner[partition]?.restore(partition, records: records)
        }
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

    // MARK: Shutdown

    private func shutDown(clean: Bool) async {
        setState(.pendingShutdown)
        do {
            try await exclusive {
                if clean { try await self.commit() }
                try await self.closeTasks(Set(self.tasks.keys), clean: clean)
            }
        } catch {
            logger.error("closing tasks failed: \(error)")
        }
        await consumer.close()
        await restoreConsumer.close()
        await producer.close()
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

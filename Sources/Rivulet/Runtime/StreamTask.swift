import KafkaProtocol
import Logging

/// One instance of one sub-topology for one partition: its processor graph, its stores, a queue
/// of buffered records per input partition, stream time and punctuators.
///
/// The outside world is behind small interfaces, so the test driver and the Kafka runtime drive
/// the same machinery: records come in through ``addRecords(_:from:)`` (from whatever consumes
/// the input partitions), results leave through the ``RecordCollector``, and whoever runs the task
/// calls ``process()``, the punctuation hooks and the two commit phases. A task is used from one
/// thread at a time.
///
/// Lifecycle: `init` builds nodes and opens stores; the runtime then restores changelogs
/// (``restoreStartOffsets``, ``restore(_:records:)``); ``initializeProcessors()`` starts
/// processing; ``close()`` commits what is pending and closes everything, ``closeDirty()``
/// closes everything without committing.
public final class StreamTask {
    public let id: TaskId
    public let subtopology: Subtopology
    public let stateManager: ProcessorStateManager
    let context: TaskContext
    private let nodes: [any RuntimeNode]
    private let sources: [String: (entry: SourceEntry, extractor: TimestampExtractor)]
    /// One queue per input partition that has had records, in an array (choosing the next
    /// record scans a few elements instead of hashing partitions), found by partition through
    /// `queueIndex` when records arrive.
    // Read and written for every record by the one thread that runs the task; no access
    // overlaps another, so the run-time exclusivity check (a few percent of a record's cost) is off.
    @exclusivity(unchecked) private var queues: [RecordQueue] = []
    @exclusivity(unchecked) private var queueIndex: [TopicPartition: Int] = [:]
    private let recordCache: RecordCache?
    private var state = State.restoring
    /// Whether anything happened since the last commit.
    @exclusivity(unchecked) public private(set) var commitNeeded = false

    private enum State { case restoring, running, closed }

    /// Builds the task's nodes and opens its stores in `<state dir>/<application id>/<task id>`.
    public init(
        id: TaskId, topology: Topology, config: StreamsConfig,
        collector: any RecordCollector, recordCache: RecordCache?, wallClockTime: Int64
    ) throws {
        let layout = topology.subtopologies
        guard layout.indices.contains(id.subtopology) else {
            throw StreamsError.invalidTopology("no sub-topology \(id.subtopology) for task \(id)")
        }
        self.id = id
        self.subtopology = layout[id.subtopology]
        self.recordCache = recordCache
        let context = TaskContext(taskId: id, config: config, collector: collector, wallClockTime: wallClockTime)
        self.context = context
        let taskDirectory = "\(config.stateDirectory)/\(config.applicationId)/\(id)"
        let stateManager = try ProcessorStateManager(taskId: id, taskDirectory: taskDirectory)
        self.stateManager = stateManager
        do {
            (nodes, sources) = try Self.build(
                topology: topology, subtopology: subtopology, config: config, context: context,
                stateManager: stateManager, recordCache: recordCache, taskDirectory: taskDirectory
            )
        } catch {
            // Whatever opened (RocksDB holds a lock on its directory) must not outlive the failure.
            try? stateManager.close()
            throw error
        }
    }

    /// Builds and opens the stores, then the nodes, wired, with the sources by topic.
    private static func build(
        topology: Topology, subtopology: Subtopology, config: StreamsConfig, context: TaskContext,
        stateManager: ProcessorStateManager, recordCache: RecordCache?, taskDirectory: String
    ) throws -> ([any RuntimeNode], [String: (entry: SourceEntry, extractor: TimestampExtractor)]) {
        let id = context.taskId
        for name in subtopology.storeNames {
            guard let definition = topology.store(named: name) else { throw TopologyError.unknownStore(name) }
            let changelog = definition.loggingEnabled
                ? TopicPartition(topic: Topology.changelogTopic(of: name).resolved(applicationId: config.applicationId), partition: id.partition)
                : nil
            let built = definition.build()
            context.stores[name] = built.store
            if let changelog { context.changelogPartitions[name] = changelog }
            stateManager.register(definition, built: built, changelog: changelog)
        }
        let storeContext = StateStoreContext(
            applicationId: config.applicationId, taskId: id, taskDirectory: taskDirectory,
            changelogSink: context, recordCache: recordCache, recordContextHolder: context
        )
        for store in stateManager.stores { try store.initialize(context: storeContext) }

        var built: [String: any RuntimeNode] = [:]
        var ordered: [any RuntimeNode] = []
        var sources: [String: (entry: SourceEntry, extractor: TimestampExtractor)] = [:]
        for name in subtopology.nodeNames {
            guard let definition = topology.node(named: name) else { throw TopologyError.unknownNode(name) }
            let instance = definition.make(NodeBuildContext(task: context, stores: Set(definition.stores)))
            let node = instance.node
            for parent in definition.parents {
                guard let parentNode = built[parent] else { throw TopologyError.unknownNode(parent) }
                try parentNode.addChild(instance)
            }
            if case .source(let topics, let extractor) = definition.kind, let entry = instance.source {
                for topic in topics {
                    sources[topic.resolved(applicationId: config.applicationId)] =
                        (entry, extractor ?? config.defaultTimestampExtractor)
                }
            }
            built[name] = node
            ordered.append(node)
        }
        return (ordered, sources)
    }

    // MARK: Restoration

    /// The changelog partitions to restore before processing, each with the offset to start from
    /// (`nil`: the beginning).
    public var restoreStartOffsets: [TopicPartition: Int64?] { stateManager.restoreStartOffsets }

    /// Writes changelog records into the store they belong to.
    public func restore(_ changelog: TopicPartition, records: [ChangelogRecord]) throws {
        try stateManager.restore(changelog, records: records)
    }

    /// Ends restoration: initializes processors (in topological order), after which the task processes.
    public func initializeProcessors() throws {
        guard state == .restoring else { return }
        for node in nodes { try node.initialize() }
        state = .running
    }

    /// A store of the task by name (its outermost layer), for tools and the test driver.
    public func stateStore(named name: String) -> (any StateStore)? {
        context.stores[name]
    }

    // MARK: Input

    /// The topics the task reads, with the application id applied to internal ones.
    public var sourceTopics: Set<String> { Set(sources.keys) }

    /// Buffers records of one input partition, extracting their timestamps.
    public func addRecords(_ records: [RawRecord], from partition: TopicPartition) throws {
        try addRecords(records, from: partition) { $0 }
    }

    /// ``addRecords(_:from:)`` for records in another form, made raw one at a time as they are
    /// queued (the stream thread's polled records: no array of raw copies in between).
    func addRecords<Records: Collection>(
        _ records: Records, from partition: TopicPartition, raw: (Records.Element) -> RawRecord
    ) throws {
        guard let source = sources[partition.topic] else {
            throw StreamsError.unknownPartition(topic: partition.topic, partition: partition.partition)
        }
        let index: Int
        if let existing = queueIndex[partition] {
            index = existing
        } else {
            index = queues.count
            queues.append(RecordQueue(partition: partition, source: source.entry, extractor: source.extractor))
            queueIndex[partition] = index
        }
        let extract = source.extractor.extract
        let ownTimestamp = source.extractor.isRecordTimestamp
        // By position, not by element: iterating would copy each element (a retain of each of
        // its buffers) before `raw` copies its fields again.
        for position in records.indices {
            // Made in its place in the queue and read there: a local record moved into the queue
            // was copied on the way (a retain of each of its buffers) and then destroyed.
            let slot = queues[index].appendRecordSlot()
            slot.initialize(to: raw(records[position]))
            var timestamp = ownTimestamp ? slot.pointee.timestamp : extract(slot.pointee, queues[index].partitionTime)
            if timestamp < 0 {
                do {
                    try checkInvalid(slot.pointee, timestamp: timestamp, extractor: source.extractor)
                } catch {
                    queues[index].removeLastRecord()
                    throw error
                }
                timestamp = -1
            }
            queues[index].appendTimestamp(timestamp)
        }
    }

    /// A record whose extracted timestamp is invalid: fails the task, or (`.skip`) logs it, and
    /// the caller queues it marked (timestamp -1), so that its offset is committed only after
    /// those before it. Kept out of the per-record loop.
    @inline(never)
    private func checkInvalid(_ record: RawRecord, timestamp: Int64, extractor: TimestampExtractor) throws {
        switch extractor.onInvalid {
        case .fail:
            throw StreamsError.invalidTimestamp(record: record, timestamp: timestamp)
        case .skip:
            context.logger.warning("skipping record with invalid timestamp", metadata: [
                "topic": "\(record.topic)", "partition": "\(record.partition)",
                "offset": "\(record.offset)", "timestamp": "\(timestamp)",
            ])
        }
    }

    /// How many records are buffered across the task's partitions.
    public var bufferedRecordCount: Int { queues.reduce(0) { $0 + $1.count } }

    /// Whether a record waits on every input partition that has ever had one (processing then
    /// respects timestamp order across partitions; a runtime may also process when idle too long).
    public var allPartitionsBuffered: Bool { queues.allSatisfy { !$0.isEmpty } }

    // MARK: Processing

    /// Processes the buffered record with the smallest timestamp across the task's partitions;
    /// `false` when none is buffered.
    @discardableResult
    public func process() throws -> Bool {
        guard state == .running else { throw StreamsError.illegalState("task \(id) is not running: initialize its processors first") }
        var chosen = -1
        var smallest = Int64.max
        for index in queues.indices {
            guard let head = queues[index].headTimestamp else { continue }
            if chosen < 0 || head < smallest || (head == smallest && queues[index].partition < queues[chosen].partition) {
                smallest = head
                chosen = index
            }
        }
        guard chosen >= 0 else { return false }
        let source = queues[chosen].source
        commitNeeded = true
        // The chosen queue has a head (it had a timestamp).
        let (record, timestamp) = queues[chosen].removeFirst()
        guard timestamp >= 0 else { return true }
        context.recordContext = RecordContext(
            metadata: RecordMetadata(topic: record.topic, partition: record.partition, offset: record.offset),
            timestamp: timestamp,
            headers: record.headers
        )
        context.streamTime = max(context.streamTime, timestamp)
        try source.process(record, timestamp)
        return true
    }

    /// The largest timestamp processed (-1 before any record).
    public var streamTime: Int64 { context.streamTime }

    /// Runs the stream-time punctuators that are due; `true` if any ran.
    @discardableResult
    public func maybePunctuateStreamTime() throws -> Bool {
        // Asked after every record: most topologies schedule nothing, and a look costs no array work.
        guard state == .running, context.streamTime >= 0, !context.streamTimePunctuations.isEmpty else { return false }
        return try punctuate(context.streamTimePunctuations.due(at: context.streamTime), at: context.streamTime)
    }

    /// Moves the task's wall clock to `now` and runs the wall-clock punctuators that are due.
    @discardableResult
    public func maybePunctuateWallClockTime(now: Int64) throws -> Bool {
        context.wallClockTime = max(context.wallClockTime, now)
        guard state == .running else { return false }
        return try punctuate(context.wallClockPunctuations.due(at: context.wallClockTime), at: context.wallClockTime)
    }

    private func punctuate(_ due: [PunctuationSchedule], at time: Int64) throws -> Bool {
        guard !due.isEmpty else { return false }
        let saved = context.recordContext
        defer { context.recordContext = saved }
        for schedule in due where !schedule.isCancelled {
            context.recordContext = .punctuation(at: time)
            do {
                try schedule.punctuator(time)
            } catch let error as StreamsError {
                throw error
            } catch {
                throw StreamsError.processing(node: schedule.nodeName, underlying: error)
            }
        }
        commitNeeded = true
        return true
    }

    /// Whether a processor asked for a commit.
    public var commitRequested: Bool { context.commitRequested }

    // MARK: Commit

    /// First commit phase: flushes caches (emitting what they hold, in order) and stores, waits
    /// for the collector, and returns the offsets to commit per input partition (next to consume).
    public func prepareCommit() throws -> [TopicPartition: Int64] {
        try stateManager.flush()
        // A cache flush emits downstream, which may fill caches flushed before it: repeat until
        // the task's caches are clean (a topology is acyclic, so this ends).
        var rounds = 0
        while let recordCache, recordCache.hasDirtyEntries(task: id), rounds < subtopology.storeNames.count {
            try stateManager.flush()
            rounds += 1
        }
        try context.collector.flush()
        var offsets: [TopicPartition: Int64] = [:]
        for queue in queues {
            if let consumed = queue.consumed { offsets[queue.partition] = consumed + 1 }
        }
        return offsets
    }

    /// Second commit phase, once the offsets are committed: checkpoints the changelog offsets of
    /// persistent stores.
    public func postCommit() throws {
        stateManager.updateChangelogOffsets(context.collector.offsets)
        try stateManager.writeCheckpoint()
        commitNeeded = false
        context.commitRequested = false
    }

    /// Commits what is pending, closes processors, then stores (a clean close). When the commit
    /// or a processor fails, the task closes dirty instead and the failure is rethrown: the
    /// stores are closed either way.
    public func close() throws {
        guard state != .closed else { return }
        if state == .running {
            do {
                _ = try prepareCommit()
                try postCommit()
                for node in nodes { try node.close() }
            } catch {
                closeDirty()
                throw error
            }
        }
        state = .closed
        for index in queues.indices { queues[index].removeAll() }
        defer { context.stores.removeAll() }
        try stateManager.close()
    }

    /// Closes without committing (Kafka Streams' dirty close): what the caches hold is dropped
    /// unemitted, no checkpoint is written, processors and stores are closed whatever fails.
    /// The task's input is processed again by whoever gets it next.
    public func closeDirty() {
        guard state != .closed else { return }
        if let recordCache {
            for name in subtopology.storeNames { recordCache.unregister(namespace: "\(id)-\(name)") }
        }
        if state == .running {
            for node in nodes {
                do { try node.close() } catch { context.logger.warning("closing processor of task \(id) failed: \(error)") }
            }
        }
        state = .closed
        for index in queues.indices { queues[index].removeAll() }
        do { try stateManager.close() } catch { context.logger.warning("closing stores of task \(id) failed: \(error)") }
        context.stores.removeAll()
    }
}

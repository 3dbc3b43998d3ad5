import KafkaClient
import KafkaProtocol
import NIOCore
import Rivulet
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs a topology in-process with no broker (Kafka Streams' `TopologyTestDriver`): pipe records
/// into input topics, read what the topology writes, inspect its stores, move its wall clock.
///
/// Every topic has one partition, so there is one task per sub-topology, and records the topology
/// writes to its repartition topics are fed straight back to the sub-topology that reads them.
/// Processing is synchronous: when `pipeInput` returns, the record and everything it caused have
/// been processed. Like Kafka's driver it commits after every input record by default, so a cached
/// table emits one update per key per input record; give `commitInterval` to commit only when the
/// mock wall clock has advanced that far (or on ``commit()``), to see caches fold updates across
/// records.
///
/// State lives in a fresh temporary directory, removed by ``close()``.
public final class TopologyTestDriver {
    public let topology: Topology
    public let config: StreamsConfig
    private let executor: TaskExecutor
    private let source = QueueRecordSource()
    let collector: TestRecordCollector
    private let ownedStateDirectory: String?
    private var inputOffsets: [TopicPartition: Int64] = [:]
    private var closed = false
    /// The mock wall clock, in milliseconds.
    public private(set) var wallClockTime: Int64

    /// - Parameters:
    ///   - config: the application id names internal topics; the state directory is replaced by a
    ///     temporary one unless `useConfiguredStateDirectory`.
    ///   - commitInterval: `nil` commits after every input record (Kafka's driver); otherwise the
    ///     driver commits when the wall clock has advanced by this much since the last commit.
    ///   - initialWallClockTime: the mock wall clock at start, in milliseconds.
    ///   - partitionCounts: partition counts that custom partitioners see for output topics (1 by default).
    public init(
        _ topology: Topology,
        config: StreamsConfig = StreamsConfig(applicationId: "topology-test-driver"),
        useConfiguredStateDirectory: Bool = false,
        commitInterval: Duration? = nil,
        initialWallClockTime: Int64 = 0,
        partitionCounts: [String: Int32] = [:]
    ) throws {
        var config = config
        if useConfiguredStateDirectory {
            ownedStateDirectory = nil
        } else {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("rivulet-test-driver-\(UUID().uuidString)").path
            config.stateDirectory = directory
            ownedStateDirectory = directory
        }
        self.topology = topology
        self.config = config
        self.wallClockTime = initialWallClockTime

        let internalTopics = Set(topology.internalTopics(applicationId: config.applicationId).map(\.name))
        let collector = TestRecordCollector(partitionCounts: partitionCounts, source: source)
        self.collector = collector
        let cache = RecordCache(maxBytes: config.cacheMaxBytesBuffering)
        var tasks: [StreamTask] = []
        do {
            for subtopology in topology.subtopologies {
                let task = try StreamTask(
                    id: TaskId(subtopology: subtopology.id, partition: 0), topology: topology, config: config,
                    collector: collector, recordCache: cache, wallClockTime: initialWallClockTime
                )
                tasks.append(task)
                try task.initializeProcessors()
            }
        } catch {
            for task in tasks { try? task.close() }
            if let ownedStateDirectory { try? FileManager.default.removeItem(atPath: ownedStateDirectory) }
            throw error
        }
        collector.feedBack = Set(tasks.flatMap(\.sourceTopics)).filter { internalTopics.contains($0) }
        self.executor = TaskExecutor(tasks: tasks, commitInterval: commitInterval, now: initialWallClockTime)
    }

    deinit {
        if !closed { try? close() }
    }

    // MARK: Topics

    /// An input topic to pipe records into. Records piped without a timestamp get `startTimestamp`
    /// (the wall clock by default), which then advances by `autoAdvance`.
    public func createInputTopic<Key, Value>(
        _ topic: String, keySerde: Serde<Key>, valueSerde: Serde<Value>,
        startTimestamp: Int64? = nil, autoAdvance: Duration = .zero
    ) -> TestInputTopic<Key, Value> {
        TestInputTopic(driver: self, topic: topic, keySerde: keySerde, valueSerde: valueSerde,
                       startTimestamp: startTimestamp ?? wallClockTime, autoAdvance: autoAdvance)
    }

    /// An output topic to read what the topology wrote.
    public func createOutputTopic<Key, Value>(
        _ topic: String, keySerde: Serde<Key>, valueSerde: Serde<Value>
    ) -> TestOutputTopic<Key, Value> {
        TestOutputTopic(driver: self, topic: topic, keySerde: keySerde, valueSerde: valueSerde)
    }

    /// Every topic the topology has written to (changelogs and repartition topics included).
    public var producedTopicNames: Set<String> { collector.producedTopics }

    // MARK: Processing

    /// Appends a record to an input topic's only partition and processes it, with everything it
    /// causes, before returning.
    func pipe(topic: String, key: ByteBuffer?, value: ByteBuffer?, timestamp: Int64, headers: [RecordHeader]) throws {
        guard !closed else { throw StreamsError.illegalState("the driver is closed") }
        let partition = TopicPartition(topic: topic, partition: 0)
        guard executor.task(reading: partition) != nil else {
            throw StreamsError.unknownPartition(topic: topic, partition: 0)
        }
        let offset = inputOffsets[partition, default: 0]
        inputOffsets[partition] = offset + 1
        source.enqueue(RawRecord(topic: topic, partition: 0, offset: offset, timestamp: timestamp,
                                 key: key, value: value, headers: headers))
        try drain()
    }

    /// Processes everything queued, committing when due; a commit flushes caches, which may write
    /// to repartition topics, whose records are processed in turn.
    private func drain() throws {
        repeat {
            try executor.process(from: source)
            if executor.commitDue(now: wallClockTime) {
                try executor.commit(now: wallClockTime)
            }
        } while !source.isEmpty
    }

    /// Moves the mock wall clock forward, runs the wall-clock punctuators that are due, and
    /// commits when due (always, by default).
    public func advanceWallClockTime(_ duration: Duration) throws {
        wallClockTime += max(0, Int64(duration.components.seconds) * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        try executor.punctuate(now: wallClockTime)
        try drain()
    }

    /// Commits now: caches flush and emit what they folded.
    public func commit() throws {
        try executor.commit(now: wallClockTime)
        try drain()
    }

    // MARK: Stores

    /// A key-value store of the topology, typed; `nil` when there is no such store or it has
    /// other types. For DSL tables, values come without their timestamps (see
    /// ``TypedKeyValueStore/getWithTimestamp(_:)`` for both).
    public func getKeyValueStore<Key, Value>(
        _ name: String, keyType: Key.Type = Key.self, valueType: Value.Type = Value.self
    ) -> TypedKeyValueStore<Key, Value>? {
        for task in executor.tasks {
            if let store = task.stateStore(named: name) { return store as? TypedKeyValueStore<Key, Value> }
        }
        return nil
    }

    /// Any store of the topology, as its outermost layer.
    public func getStateStore(_ name: String) -> (any StateStore)? {
        executor.tasks.lazy.compactMap { $0.stateStore(named: name) }.first
    }

    /// Closes the tasks (committing what is pending) and removes the temporary state directory.
    public func close() throws {
        guard !closed else { return }
        closed = true
        defer {
            if let ownedStateDirectory { try? FileManager.default.removeItem(atPath: ownedStateDirectory) }
        }
        try executor.close()
    }
}

/// Records waiting to be processed: what tests pipe in and what the topology writes to topics it
/// reads itself (repartition topics).
final class QueueRecordSource: RecordSource {
    private var queue: [RawRecord] = []

    var isEmpty: Bool { queue.isEmpty }

    func enqueue(_ record: RawRecord) {
        queue.append(record)
    }

    func poll() throws -> [RawRecord] {
        defer { queue.removeAll(keepingCapacity: true) }
        return queue
    }
}

/// Keeps what a topology writes, per topic, with offsets as a broker would assign them; records
/// for topics the topology reads itself go back to the record source.
final class TestRecordCollector: RecordCollector {
    private let partitionCounts: [String: Int32]
    private unowned let source: QueueRecordSource
    /// Topics whose records are fed back into the topology.
    var feedBack: Set<String> = []
    private var nextOffsets: [TopicPartition: Int64] = [:]
    private(set) var offsets: [TopicPartition: Int64] = [:]
    private var outputs: [String: [RawRecord]] = [:]
    private(set) var producedTopics: Set<String> = []

    init(partitionCounts: [String: Int32], source: QueueRecordSource) {
        self.partitionCounts = partitionCounts
        self.source = source
    }

    func send(
        topic: String, partition: Int32?, timestamp: Int64,
        key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]
    ) throws {
        let count = partitionCount(of: topic) ?? 1
        let chosen: Int32
        if let partition {
            chosen = partition
        } else if let key, count > 1 {
            chosen = Int32(Murmur2.hash(key) & 0x7fff_ffff) % count
        } else {
            chosen = 0
        }
        let topicPartition = TopicPartition(topic: topic, partition: chosen)
        let offset = nextOffsets[topicPartition, default: 0]
        nextOffsets[topicPartition] = offset + 1
        offsets[topicPartition] = offset
        let record = RawRecord(topic: topic, partition: chosen, offset: offset, timestamp: timestamp,
                               key: key, value: value, headers: headers)
        producedTopics.insert(topic)
        if feedBack.contains(topic) {
            source.enqueue(record)
        } else {
            outputs[topic, default: []].append(record)
        }
    }

    func partitionCount(of topic: String) -> Int32? {
        partitionCounts[topic] ?? 1
    }

    func flush() throws {}

    /// Takes the oldest record written to `topic`.
    func take(from topic: String) -> RawRecord? {
        guard var records = outputs[topic], !records.isEmpty else { return nil }
        let first = records.removeFirst()
        outputs[topic] = records
        return first
    }

    func count(of topic: String) -> Int {
        outputs[topic]?.count ?? 0
    }
}

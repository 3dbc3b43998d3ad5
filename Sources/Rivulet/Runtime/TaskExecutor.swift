import KafkaProtocol

/// Runs a set of tasks: routes input records to the task that reads their partition, processes
/// them with stream-time punctuation after each record, runs wall-clock punctuators and commits
/// on an interval. The test driver and the Kafka runtime share it; only their ``RecordSource``
/// and ``RecordCollector`` differ.
public final class TaskExecutor {
    public private(set) var tasks: [StreamTask]
    private var byPartition: [TopicPartition: StreamTask] = [:]
    /// `nil`: commit after every call to ``process(from:)``.
    public let commitInterval: Duration?
    private var lastCommit: Int64

    /// Runs `tasks`, committing every `commitInterval` of the clock passed to it (`nil`: at every chance).
    public init(tasks: [StreamTask], commitInterval: Duration?, now: Int64) {
        self.tasks = tasks.sorted { $0.id < $1.id }
        self.commitInterval = commitInterval
        self.lastCommit = now
        for task in self.tasks {
            for topic in task.sourceTopics {
                byPartition[TopicPartition(topic: topic, partition: task.id.partition)] = task
            }
        }
    }

    /// The task that reads a partition.
    public func task(reading partition: TopicPartition) -> StreamTask? {
        byPartition[partition]
    }

    /// Buffers records in the tasks that read them, keeping each partition's order.
    public func route(_ records: [RawRecord]) throws {
        var batches: [TopicPartition: [RawRecord]] = [:]
        var order: [TopicPartition] = []
        for record in records {
            let partition = record.topicPartition
            if batches[partition] == nil { order.append(partition) }
            batches[partition, default: []].append(record)
        }
        for partition in order {
            guard let task = byPartition[partition] else {
                throw StreamsError.unknownPartition(topic: partition.topic, partition: partition.partition)
            }
            try task.addRecords(batches[partition]!, from: partition)
        }
    }

    /// Polls `source` and processes everything buffered until the source has nothing more;
    /// returns how many records were processed.
    @discardableResult
    public func process(from source: any RecordSource) throws -> Int {
        var processed = 0
        while true {
            let records = try source.poll()
            if !records.isEmpty { try route(records) }
            var progressed = false
            for task in tasks {
                while try task.process() {
                    processed += 1
                    progressed = true
                    try task.maybePunctuateStreamTime()
                }
            }
            if records.isEmpty && !progressed { return processed }
        }
    }

    /// Runs the wall-clock punctuators due at `now`.
    public func punctuate(now: Int64) throws {
        for task in tasks { try task.maybePunctuateWallClockTime(now: now) }
    }

    /// Whether a commit is due at `now`: the interval elapsed (or there is none), or a processor asked.
    public func commitDue(now: Int64) -> Bool {
        guard let commitInterval else { return true }
        return now - lastCommit >= commitInterval.milliseconds || tasks.contains { $0.commitRequested }
    }

    /// Commits every task (flushing caches and stores) and returns the offsets to commit.
    @discardableResult
    public func commit(now: Int64) throws -> [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        for task in tasks {
            offsets.merge(try task.prepareCommit()) { _, new in new }
        }
        for task in tasks { try task.postCommit() }
        lastCommit = now
        return offsets
    }

    /// Closes every task, committing what is pending; reports the first failure after trying all.
    public func close() throws {
        var firstError: (any Error)?
        for task in tasks {
            do { try task.close() } catch { firstError = firstError ?? error }
        }
        tasks = []
        byPartition = [:]
        if let firstError { throw firstError }
    }
}

import KafkaProtocol
import Logging
import NIOCore

/// What the nodes and stores of one task share: the record being processed, stream and wall-clock
/// time, stores, punctuators and the way out. One per task; used from one thread at a time.
@usableFromInline
final class TaskContext: RecordContextHolder, ChangelogSink {
    let taskId: TaskId
    let applicationId: String
    @usableFromInline let config: StreamsConfig
    @usableFromInline let collector: any RecordCollector
    @usableFromInline let logger: Logger
    /// The context of the record being processed. Every forward swaps the forwarded record's
    /// timestamp and headers in and back out: a class's stored property would have its exclusive
    /// access checked at run time twice per node per record. The task is used from one thread at
    /// a time and no access to the context overlaps another, so the check is left out.
    @exclusivity(unchecked) @usableFromInline var recordContext = RecordContext.punctuation(at: -1)
    /// The largest timestamp processed so far; -1 before the first record.
    @exclusivity(unchecked) var streamTime: Int64 = -1
    var wallClockTime: Int64
    /// Outermost layer of every store, by name.
    var stores: [String: any StateStore] = [:]
    /// Changelog partition of every logged store, by store name.
    var changelogPartitions: [String: TopicPartition] = [:]
    var streamTimePunctuations = PunctuationQueue()
    var wallClockPunctuations = PunctuationQueue()
    var commitRequested = false

    init(taskId: TaskId, config: StreamsConfig, collector: any RecordCollector, wallClockTime: Int64) {
        self.taskId = taskId
        self.applicationId = config.applicationId
        self.config = config
        self.collector = collector
        self.wallClockTime = wallClockTime
        var logger = Logger(label: "rivulet.streams.task")
        logger[metadataKey: "task"] = "\(taskId)"
        self.logger = logger
    }

    @usableFromInline
    func logChange(store: String, key: ByteBuffer, value: ByteBuffer?, timestamp: Int64) throws {
        guard let partition = changelogPartitions[store] else { return }
        try collector.send(
            topic: partition.topic, partition: partition.partition, timestamp: timestamp,
            key: key, value: value, headers: []
        )
    }

    func schedule(
        nodeName: String, interval: Duration, type: PunctuationType, punctuator: @escaping (Int64) throws -> Void
    ) -> PunctuationSchedule {
        let milliseconds = max(1, interval.milliseconds)
        switch type {
        case .streamTime:
            // Aligned to 0: the first record punctuates, then every interval of stream time.
            return streamTimePunctuations.add(nodeName: nodeName, first: 0, interval: milliseconds, punctuator: punctuator)
        case .wallClockTime:
            return wallClockPunctuations.add(
                nodeName: nodeName, first: wallClockTime + milliseconds, interval: milliseconds, punctuator: punctuator
            )
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

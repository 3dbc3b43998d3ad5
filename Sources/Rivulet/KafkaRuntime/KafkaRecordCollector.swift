import KafkaClient
import KafkaProtocol
import NIOCore

/// The record collector of a stream thread's tasks: records are gathered as tasks process, and
/// handed to the thread's ``StreamsProducer`` whenever the thread yields (``drain()``), so the
/// synchronous processing path never waits on the network. ``acknowledge()`` is the commit's
/// barrier: everything is delivered, and the changelog offsets that checkpoints record are known.
final class KafkaRecordCollector: RecordCollector {
    private let producer: StreamsProducer
    private let changelogTopics: Set<String>
    private var pending: [ProducerRecord] = []
    /// Partition counts of the topics sinks may write (for custom partitioners).
    var partitionCounts: [String: Int32] = [:]
    private(set) var offsets: [TopicPartition: Int64] = [:]

    init(producer: StreamsProducer, changelogTopics: Set<String>) {
        self.producer = producer
        self.changelogTopics = changelogTopics
    }

    var pendingCount: Int { pending.count }

    func send(
        topic: String, partition: Int32?, timestamp: Int64,
        key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]
    ) throws {
        pending.append(ProducerRecord(topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp))
    }

    func partitionCount(of topic: String) -> Int32? {
        partitionCounts[topic]
    }

    /// Records are delivered asynchronously: the stream thread calls ``acknowledge()`` after a
    /// task's `prepareCommit` and before committing offsets.
    func flush() throws {}

    /// Hands the gathered records to the producer.
    func drain(isolation: isolated (any Actor)? = #isolation) async throws {
        guard !pending.isEmpty else { return }
        let records = pending
        pending.removeAll(keepingCapacity: true)
        for record in records { try await producer.send(record) }
    }

    /// Drops gathered records (of tasks closed without a commit: their input is processed again).
    func discardPending() {
        pending.removeAll(keepingCapacity: true)
    }

    /// Delivers everything and takes the offset of the last record acknowledged per changelog
    /// partition from the produce acknowledgements (a task is its changelog partition's only
    /// writer, so a zombie's writes cannot move it).
    func acknowledge(isolation: isolated (any Actor)? = #isolation) async throws {
        try await drain()
        try await producer.flush()
        offsets.merge(producer.acknowledgedOffsets(of: changelogTopics)) { _, new in new }
    }
}

import KafkaClient
import KafkaProtocol
import NIOCore

/// The record collector of a stream thread's tasks: records are gathered as tasks process, and
/// handed to the thread's ``StreamsProducer`` whenever the thread yields (``drain()``), so the
/// synchronous processing path never waits on the network. ``acknowledge()`` is the commit's
/// barrier: everything is delivered, and the changelog offsets that checkpoints record are known.
final class KafkaRecordCollector: RecordCollector {
    private let producer: StreamsProducer
    private let admin: KafkaAdmin
    private let changelogTopics: Set<String>
    private var pending: [ProducerRecord] = []
    /// Changelog partitions written since the last acknowledgement.
    private var writtenChangelogs: Set<TopicPartition> = []
    /// Partition counts of the topics sinks may write (for custom partitioners).
    var partitionCounts: [String: Int32] = [:]
    private(set) var offsets: [TopicPartition: Int64] = [:]

    init(producer: StreamsProducer, admin: KafkaAdmin, changelogTopics: Set<String>) {
        self.producer = producer
        self.admin = admin
        self.changelogTopics = changelogTopics
    }

    var pendingCount: Int { pending.count }

    func send(
        topic: String, partition: Int32?, timestamp: Int64,
        key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]
    ) throws {
        if let partition, changelogTopics.contains(topic) {
            writtenChangelogs.insert(TopicPartition(topic: topic, partition: partition))
        }
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
        try await producer.send(contentsOf: records)
    }

    /// Drops gathered records (of tasks closed without a commit: their input is processed again).
    func discardPending() {
        pending.removeAll(keepingCapacity: true)
        writtenChangelogs.removeAll()
    }

    /// Delivers everything and learns the last offset written to each changelog partition this
    /// thread wrote since the last time (a task is its changelog partition's only writer).
    func acknowledge(isolation: isolated (any Actor)? = #isolation) async throws {
        try await drain()
        try await producer.flush()
        guard !writtenChangelogs.isEmpty else { return }
        let ends: [TopicPartition: ListedOffset]
        do {
            ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: writtenChangelogs.map { ($0, OffsetSpec.latest) }))
        } catch let error as KafkaClientError where StreamThread.isTransient(error) {
            // Checkpoints then lag behind (restoration replays a little more); asked again next time.
            return
        }
        for (partition, listed) in ends where listed.offset > 0 {
            offsets[partition] = listed.offset - 1
        }
        writtenChangelogs.removeAll()
    }
}

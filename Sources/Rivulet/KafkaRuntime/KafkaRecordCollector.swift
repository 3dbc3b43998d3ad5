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
    // Appended to for every record by the stream thread alone: no run-time exclusivity check.
    @exclusivity(unchecked) private var pending: [ProducerRecord] = []
    /// Which task sent `pending[start...]` up to the next entry's start (records sent through
    /// ``forTask(_:)``), so a task closed dirty drops its own records and no one else's.
    @exclusivity(unchecked) private var owners: [(task: TaskId, start: Int)] = []
    /// Partition counts of the topics sinks may write (for custom partitioners).
    var partitionCounts: [String: Int32] = [:]
    private(set) var offsets: [TopicPartition: Int64] = [:]
    /// The records of the last drain, being handed to the producer on another thread while the
    /// stream thread goes on processing (the producer's encoding of one batch overlaps the
    /// processing of the next). The next drain waits for it before it starts, so records reach
    /// the producer in order and a failure to send surfaces there.
    private var inFlight: Task<Void, any Error>?

    init(producer: StreamsProducer, changelogTopics: Set<String>) {
        self.producer = producer
        self.changelogTopics = changelogTopics
    }

    var pendingCount: Int { pending.count }

    /// The collector task `id` writes through: the same records, remembered as the task's.
    func forTask(_ id: TaskId) -> any RecordCollector {
        TaskRecordCollector(task: id, shared: self)
    }

    /// Notes that the records appended from now on are task `id`'s.
    fileprivate func beginRecords(of id: TaskId) {
        if owners.last?.task != id { owners.append((id, pending.count)) }
    }

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

    /// Starts handing the gathered records to the producer, once the previous drain's are all
    /// handed over; returns without waiting for these (see ``handedOver()``).
    func drain(isolation: isolated (any Actor)? = #isolation) async throws {
        guard !pending.isEmpty else { return }
        try await handedOver()
        let records = pending
        pending.removeAll(keepingCapacity: true)
        owners.removeAll(keepingCapacity: true)
        let producer = self.producer
        inFlight = Task.detached { try await producer.send(contentsOf: records) }
    }

    /// Waits until the records of the last drain are all with the producer; throws if one
    /// could not be sent.
    func handedOver(isolation: isolated (any Actor)? = #isolation) async throws {
        guard let task = inFlight else { return }
        inFlight = nil
        try await task.value
    }

    /// Drops the gathered records of `tasks` (closed without a commit: their input is processed
    /// again); other tasks' records stay, in order.
    func discardPending(of tasks: Set<TaskId>) {
        guard !pending.isEmpty, owners.contains(where: { tasks.contains($0.task) }) else { return }
        var kept: [ProducerRecord] = []
        var keptOwners: [(task: TaskId, start: Int)] = []
        // Records sent before any task was named have no owner: they stay.
        kept += pending[..<(owners.first?.start ?? pending.count)]
        for (index, owner) in owners.enumerated() where !tasks.contains(owner.task) {
            let end = index + 1 < owners.count ? owners[index + 1].start : pending.count
            if keptOwners.last?.task != owner.task { keptOwners.append((owner.task, kept.count)) }
            kept += pending[owner.start..<end]
        }
        pending = kept
        owners = keptOwners
    }

    /// Delivers everything and takes the offset of the last record acknowledged per changelog
    /// partition from the produce acknowledgements (a task is its changelog partition's only
    /// writer, so a zombie's writes cannot move it).
    func acknowledge(isolation: isolated (any Actor)? = #isolation) async throws {
        try await drain()
        try await handedOver()
        try await producer.flush()
        offsets.merge(producer.acknowledgedOffsets(of: changelogTopics)) { _, new in new }
    }
}

/// A task's view of its thread's ``KafkaRecordCollector``: sends are the thread's, marked as
/// the task's.
private final class TaskRecordCollector: RecordCollector {
    let task: TaskId
    /// The thread's collector outlives its tasks' views of it (the thread closes its tasks
    /// before it goes); `unowned(unsafe)` spares the per-record check a safe `unowned` makes.
    unowned(unsafe) let shared: KafkaRecordCollector

    init(task: TaskId, shared: KafkaRecordCollector) {
        self.task = task
        self.shared = shared
    }

    func send(
        topic: String, partition: Int32?, timestamp: Int64,
        key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]
    ) throws {
        shared.beginRecords(of: task)
        try shared.send(topic: topic, partition: partition, timestamp: timestamp, key: key, value: value, headers: headers)
    }

    func partitionCount(of topic: String) -> Int32? { shared.partitionCount(of: topic) }
    func flush() throws { try shared.flush() }
    var offsets: [TopicPartition: Int64] { shared.offsets }
}

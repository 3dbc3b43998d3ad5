import KafkaClient
import KafkaProtocol
import NIOCore
import Synchronization

/// The record collector of a stream thread's tasks: records are gathered as tasks process, and
/// handed to the thread's ``StreamsProducer`` whenever the thread yields (``drain()``), so the
/// synchronous processing path never waits on the network. ``acknowledge()`` is the commit's
/// barrier: everything is delivered, and the changelog offsets that checkpoints record are known.
final class KafkaRecordCollector: RecordCollector {
    private let producer: StreamsProducer
    private let changelogTopics: Set<String>
    /// The records gathered since the last drain, their keys and values in one buffer.
    /// Appended to for every record by the stream thread alone: no run-time exclusivity check.
    @exclusivity(unchecked) private var pending = SerializedRecords()
    /// Which task sent `pending.entries[start...]` up to the next entry's start (records sent through
    /// ``forTask(_:)``), so a task closed dirty drops its own records and no one else's.
    @exclusivity(unchecked) private var owners: [(task: TaskId, start: Int)] = []
    /// Partition counts of the topics sinks may write (for custom partitioners).
    var partitionCounts: [String: Int32] = [:]
    private(set) var offsets: [TopicPartition: Int64] = [:]
    /// The drains being handed to the producer on other threads while the stream thread goes
    /// on processing (the producer's encoding overlaps the processing), oldest first. Each waits
    /// for the one before it, so records reach the producer in order, and fails with it, so
    /// nothing after a record that could not be sent is sent.
    private var handovers: [Task<Void, any Error>] = []
    /// The first failure of a hand-over, surfaced by the next drain without waiting for it.
    private let handoverFailure = FirstFailure()
    /// Bytes and records the next drain's buffers start with: the largest drain's so far, so
    /// that they rarely grow (each growth copies them), up to a bound, so that one outsized
    /// drain (a commit's cache flush, large records) does not make every later one reserve as much.
    private var byteCapacity = 4096
    private var recordCapacity = 64
    static let maxReservedBytes = 1 << 20
    static let maxReservedRecords = 16_384

    /// Hand-overs under way at most; a drain beyond waits for the oldest. Deep enough that the
    /// stream thread does not wait for the producer's turn at the CPU, bounded so that a slow
    /// producer (waiting for buffer room) slows the thread down.
    static let maxHandovers = 4

    init(producer: StreamsProducer, changelogTopics: Set<String>) {
        self.producer = producer
        self.changelogTopics = changelogTopics
    }

    /// `pending.count`, kept apart: the stream thread reads it after every record, and reading
    /// it through `pending` copies the whole value out of this object first.
    @exclusivity(unchecked) private(set) var pendingCount = 0

    /// The collector task `id` writes through: the same records, remembered as the task's.
    func forTask(_ id: TaskId) -> any RecordCollector {
        TaskRecordCollector(task: id, shared: self)
    }

    /// Notes that the records appended from now on are task `id`'s.
    fileprivate func beginRecords(of id: TaskId) {
        if owners.last?.task != id { owners.append((id, pendingCount)) }
    }

    func send(
        topic: String, partition: Int32?, timestamp: Int64,
        key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]
    ) throws {
        pending.append(topic: topic, partition: partition, timestamp: timestamp, key: key, value: value, headers: headers)
        pendingCount += 1
    }

    func send(
        topic: String, partition: Int32?, timestamp: Int64, headers: [RecordHeader],
        serialize: (inout ByteBuffer) throws -> (keyLength: Int?, valueLength: Int?)
    ) throws {
        try pending.append(topic: topic, partition: partition, timestamp: timestamp, headers: headers, serialize: serialize)
        pendingCount += 1
    }

    func partitionCount(of topic: String) -> Int32? {
        partitionCounts[topic]
    }

    /// Records are delivered asynchronously: the stream thread calls ``acknowledge()`` after a
    /// task's `prepareCommit` and before committing offsets.
    func flush() throws {}

    /// Starts handing the gathered records to the producer after the earlier drains' and
    /// returns without waiting for them (see ``handedOver()``), unless ``maxHandovers`` are
    /// under way; throws the failure of an earlier hand-over.
    func drain(isolation: isolated (any Actor)? = #isolation) async throws {
        if let failure = handoverFailure.error { throw failure }
        guard pendingCount > 0 else { return }
        if handovers.count >= Self.maxHandovers {
            try await handovers.removeFirst().value
        }
        let records = pending
        byteCapacity = min(max(byteCapacity, records.bytes.writerIndex), Self.maxReservedBytes)
        recordCapacity = min(max(recordCapacity, records.count), Self.maxReservedRecords)
        pending = SerializedRecords(byteCapacity: byteCapacity, recordCapacity: recordCapacity)
        pendingCount = 0
        owners.removeAll(keepingCapacity: true)
        let producer = self.producer
        let previous = handovers.last
        let failure = handoverFailure
        handovers.append(Task.detached {
            do {
                try await previous?.value
                try await producer.send(records)
            } catch {
                failure.record(error)
                throw error
            }
        })
    }

    /// Waits until the records of every drain are with the producer; throws if one could not
    /// be sent.
    func handedOver(isolation: isolated (any Actor)? = #isolation) async throws {
        // Each hand-over ends after the one before it: the last one ending is all of them ending.
        guard let last = handovers.last else { return }
        handovers.removeAll()
        try await last.value
    }

    /// Drops the gathered records of `tasks` (closed without a commit: their input is processed
    /// again); other tasks' records stay, in order.
    func discardPending(of tasks: Set<TaskId>) {
        guard pendingCount > 0, owners.contains(where: { tasks.contains($0.task) }) else { return }
        let entries = pending.entries
        var kept: [SerializedRecords.Entry] = []
        var keptOwners: [(task: TaskId, start: Int)] = []
        // Records sent before any task was named have no owner: they stay.
        kept += entries[..<(owners.first?.start ?? entries.count)]
        for (index, owner) in owners.enumerated() where !tasks.contains(owner.task) {
            let end = index + 1 < owners.count ? owners[index + 1].start : entries.count
            if keptOwners.last?.task != owner.task { keptOwners.append((owner.task, kept.count)) }
            kept += entries[owner.start..<end]
        }
        pending.entries = kept
        pendingCount = kept.count
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

/// The first error of the hand-overs, set on the producer's side and read by the stream thread.
private final class FirstFailure: Sendable {
    private let first = Mutex<(any Error)?>(nil)

    var error: (any Error)? { first.withLock { $0 } }

    func record(_ error: any Error) {
        first.withLock { $0 = $0 ?? error }
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

    func send(
        topic: String, partition: Int32?, timestamp: Int64, headers: [RecordHeader],
        serialize: (inout ByteBuffer) throws -> (keyLength: Int?, valueLength: Int?)
    ) throws {
        shared.beginRecords(of: task)
        try shared.send(topic: topic, partition: partition, timestamp: timestamp, headers: headers, serialize: serialize)
    }

    func partitionCount(of topic: String) -> Int32? { shared.partitionCount(of: topic) }
    func flush() throws { try shared.flush() }
    var offsets: [TopicPartition: Int64] { shared.offsets }
}

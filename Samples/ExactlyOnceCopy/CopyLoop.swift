import KafkaClient
import KafkaProtocol
import NIOCore

/// The consume-transform-produce loop's state: the open transaction, the offsets it will
/// commit, and where to rewind the input when it has to be aborted.
///
/// The rebalance listener commits from the consumer's membership task, outside the loop:
/// every operation holds a gate, so that a commit for revoked partitions never falls in the
/// middle of a batch, and a batch only processes records of partitions still assigned.
actor CopyLoop {
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let outputTopic: String
    let commitInterval: Duration
    let transform: @Sendable (ByteBuffer?) -> ByteBuffer?

    /// Per partition, the offset after the last record sent in the open transaction.
    private var pendingOffsets: [TopicPartition: OffsetAndMetadata] = [:]
    /// Per partition, the first offset read in the open transaction: where the input resumes
    /// if the transaction is aborted.
    private var transactionStart: [TopicPartition: Int64] = [:]
    private var transactionOpenedAt: ContinuousClock.Instant?
    private var recordsInTransaction = 0
    /// Records copied in committed transactions.
    private(set) var committedRecords = 0

    init(consumer: KafkaConsumer, producer: KafkaProducer, outputTopic: String, commitInterval: Duration,
         transform: @escaping @Sendable (ByteBuffer?) -> ByteBuffer?) {
        self.consumer = consumer
        self.producer = producer
        self.outputTopic = outputTopic
        self.commitInterval = commitInterval
        self.transform = transform
    }

    var hasOpenTransaction: Bool { transactionOpenedAt != nil }

    // MARK: Operations, one at a time

    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }   // handed over still busy
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    /// Processes one poll's records (those of partitions still assigned) and commits when due.
    func step(_ records: [ConsumerRecord]) async throws {
        await acquire()
        defer { release() }
        if !records.isEmpty {
            let assigned = await consumer.assignment()
            try await process(records.filter { assigned.contains($0.topicPartition) })
        }
        try await commitIfDue()
    }

    /// Commits the open transaction now (before partitions are revoked, before exiting).
    func commitNow() async throws {
        await acquire()
        defer { release() }
        try await commit()
    }

    /// Aborts the open transaction and rewinds the input to where it began.
    func abortNow() async throws {
        await acquire()
        defer { release() }
        try await abort()
    }

    /// Sends the transformed records in the open transaction (opening one if needed), each to
    /// the output partition with the input partition's number, so that order is kept.
    private func process(_ records: [ConsumerRecord]) async throws {
        for (index, record) in records.enumerated() {
            if transactionOpenedAt == nil {
                try producer.beginTransaction()
                transactionOpenedAt = .now
            }
            if index == 0 || transactionStart.isEmpty {
                // Where each partition rewinds to, noted before anything is sent: a send that
                // fails half-way through must not leave the records after it behind the
                // consumer's position. (Empty again after a commit from the rebalance listener.)
                for later in records[index...] where transactionStart[later.topicPartition] == nil {
                    transactionStart[later.topicPartition] = later.offset
                }
            }
            try await producer.sendAndForget(ProducerRecord(
                topic: outputTopic, partition: record.partition, key: record.key, value: transform(record.value),
                headers: record.headers, timestamp: record.timestamp))
            pendingOffsets[record.topicPartition] = OffsetAndMetadata(offset: record.offset + 1, leaderEpoch: record.leaderEpoch)
            recordsInTransaction += 1
        }
    }

    /// Commits when the open transaction is older than the commit interval.
    private func commitIfDue() async throws {
        if let opened = transactionOpenedAt, ContinuousClock.now - opened >= commitInterval {
            try await commit()
        }
    }

    /// Commits the output records and the input offsets together.
    private func commit() async throws {
        guard transactionOpenedAt != nil else { return }
        guard let group = await consumer.groupMetadata() else { throw CopyError.noGroup }
        try await producer.sendOffsetsToTransaction(pendingOffsets, groupMetadata: group)
        try await producer.commitTransaction()
        committedRecords += recordsInTransaction
        reset()
    }

    /// Aborts the open transaction and rewinds the input to where it began, so that its
    /// records are read and sent again in the next one.
    private func abort() async throws {
        switch producer.transactionState {
        case .inTransaction?, .abortableError?, .aborting?:
            try await producer.abortTransaction()
        default:
            break
        }
        let assigned = await consumer.assignment()
        for (partition, offset) in transactionStart where assigned.contains(partition) {
            try await consumer.seek(partition, to: offset)
        }
        reset()
    }

    private func reset() {
        pendingOffsets = [:]
        transactionStart = [:]
        transactionOpenedAt = nil
        recordsInTransaction = 0
    }
}

enum CopyError: Error, CustomStringConvertible {
    case noGroup

    var description: String { "the consumer has no group id" }
}

import KafkaClient
import KafkaProtocol
import NIOCore

/// The consume-transform-produce loop's state: the open transaction, the offsets it will
/// commit, and where to rewind the input when it has to be aborted.
///
/// An actor, because a rebalance listener commits from outside the loop: everything read so
/// far is committed before partitions move to another member.
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

    /// Sends the transformed records in the open transaction (opening one if needed), each to
    /// the output partition with the input partition's number, so that order is kept.
    func process(_ records: [ConsumerRecord]) async throws {
        for record in records {
            if transactionOpenedAt == nil {
                try producer.beginTransaction()
                transactionOpenedAt = .now
            }
            try await producer.sendAndForget(ProducerRecord(
                topic: outputTopic, partition: record.partition, key: record.key, value: transform(record.value),
                headers: record.headers, timestamp: record.timestamp))
            let partition = record.topicPartition
            if transactionStart[partition] == nil { transactionStart[partition] = record.offset }
            pendingOffsets[partition] = OffsetAndMetadata(offset: record.offset + 1, leaderEpoch: record.leaderEpoch)
            recordsInTransaction += 1
        }
    }

    /// Commits when the open transaction is older than the commit interval.
    func commitIfDue() async throws {
        if let opened = transactionOpenedAt, ContinuousClock.now - opened >= commitInterval {
            try await commit()
        }
    }

    /// Commits the output records and the input offsets together.
    func commit() async throws {
        guard transactionOpenedAt != nil else { return }
        guard let group = await consumer.groupMetadata() else { throw CopyError.noGroup }
        try await producer.sendOffsetsToTransaction(pendingOffsets, groupMetadata: group)
        try await producer.commitTransaction()
        committedRecords += recordsInTransaction
        reset()
    }

    /// Aborts the open transaction and rewinds the input to where it began, so that its
    /// records are read and sent again in the next one.
    func abort() async throws {
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

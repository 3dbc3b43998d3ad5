import Foundation
import KafkaProtocol
import NIOCore

/// Maps transactional ids to producer ids and epochs, tracks each transaction's partitions,
/// writes commit and abort markers, and aborts transactions that outlive their timeout.
///
/// Its state is a small JSON document, rewritten atomically (write, fsync, rename) on every
/// change, so a restart finds every transaction where it was.
actor TransactionCoordinator {
    enum Phase: String, Codable {
        case empty = "Empty"
        case ongoing = "Ongoing"
        case completeCommit = "CompleteCommit"
        case completeAbort = "CompleteAbort"
    }

    struct Transaction: Codable {
        var producerId: Int64
        var producerEpoch: Int16
        var timeoutMs: Int32
        var phase: Phase
        var partitions: [TopicPartition]
        var startedMs: Int64
    }

    private struct Snapshot: Codable {
        var nextProducerId: Int64
        var transactions: [String: Transaction]
    }

    private let path: String
    private let maxTimeoutMs: Int32
    private let topics: TopicRegistry
    private let offsets: OffsetStore
    private var transactions: [String: Transaction] = [:]
    private var nextProducerId: Int64 = 1000
    /// Producer ids are handed out from blocks; the block's end is saved before any id in it is used,
    /// so ids are never reused after a crash.
    private var blockEnd: Int64 = 0
    private static let blockSize: Int64 = 1000

    init(dataDirectory: String, maxTimeoutMs: Int32, topics: TopicRegistry, offsets: OffsetStore) throws {
        self.path = dataDirectory + "/transactions.json"
        self.maxTimeoutMs = maxTimeoutMs
        self.topics = topics
        self.offsets = offsets
        if let data = FileManager.default.contents(atPath: path) {
            let snapshot = try JSONDecoder().decode(Snapshot.self, from: data)
            transactions = snapshot.transactions
            nextProducerId = snapshot.nextProducerId
            blockEnd = snapshot.nextProducerId
        }
    }

    private func save() throws {
        let snapshot = Snapshot(nextProducerId: blockEnd, transactions: transactions)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(snapshot)
        let file = try POSIXFile(path: path + ".tmp", create: true)
        try file.truncate(to: 0)
        var buffer = ByteBuffer()
        buffer.writeBytes(data)
        try file.write(buffer, at: 0)
        try file.sync()
        try POSIXFile.rename(path + ".tmp", to: path)
    }

    private func allocateProducerId() throws -> Int64 {
        if nextProducerId >= blockEnd {
            blockEnd = nextProducerId + Self.blockSize
            try save()
        }
        defer { nextProducerId += 1 }
        return nextProducerId
    }

    // MARK: InitProducerId

    func initProducerId(_ request: InitProducerIdRequest) -> InitProducerIdResponse {
        func failure(_ code: KafkaErrorCode) -> InitProducerIdResponse {
            InitProducerIdResponse(errorCode: code.rawValue, producerId: -1, producerEpoch: -1)
        }
        do {
            guard let transactionalId = request.transactionalId, !transactionalId.isEmpty else {
                // An idempotent producer: a fresh id at epoch 0.
                return InitProducerIdResponse(errorCode: 0, producerId: try allocateProducerId(), producerEpoch: 0)
            }
            guard request.transactionTimeoutMs > 0, request.transactionTimeoutMs <= maxTimeoutMs else {
                return failure(.invalidTransactionTimeout)
            }
            guard var transaction = transactions[transactionalId] else {
                let transaction = Transaction(producerId: try allocateProducerId(), producerEpoch: 0, timeoutMs: request.transactionTimeoutMs,
                                              phase: .empty, partitions: [], startedMs: -1)
                transactions[transactionalId] = transaction
                try save()
                return InitProducerIdResponse(errorCode: 0, producerId: transaction.producerId, producerEpoch: 0)
            }
            // KIP-360: a producer that names its current id and epoch may recover; any other pair is a zombie.
            if request.producerId >= 0 && (request.producerId != transaction.producerId || request.producerEpoch != transaction.producerEpoch) {
                return failure(.producerFenced)
            }
            // A new incarnation fences the old one: bump the epoch, aborting anything left open.
            if transaction.phase == .ongoing {
                try bumpEpoch(&transaction)
                try writeMarkers(for: transaction, commit: false)
                transaction.phase = .completeAbort
            }
            try bumpEpoch(&transaction)
            transaction.timeoutMs = request.transactionTimeoutMs
            transaction.partitions = []
            transaction.phase = .empty
            transactions[transactionalId] = transaction
            try save()
            return InitProducerIdResponse(errorCode: 0, producerId: transaction.producerId, producerEpoch: transaction.producerEpoch)
        } catch {
            return failure(.kafkaStorageError)
        }
    }

    private func bumpEpoch(_ transaction: inout Transaction) throws {
        if transaction.producerEpoch >= Int16.max - 1 {
            // Epoch exhausted: continue under a new producer id.
            transaction.producerId = try allocateProducerId()
            transaction.producerEpoch = 0
        } else {
            transaction.producerEpoch += 1
        }
    }

    /// Checks the producer id and epoch of a transactional request.
    private func validate(_ transactionalId: String, producerId: Int64, producerEpoch: Int16) -> (Transaction?, KafkaErrorCode) {
        guard let transaction = transactions[transactionalId] else { return (nil, .invalidProducerIdMapping) }
        guard transaction.producerId == producerId else { return (nil, .invalidProducerIdMapping) }
        guard transaction.producerEpoch == producerEpoch else { return (nil, .producerFenced) }
        return (transaction, .noError)
    }

    // MARK: AddPartitionsToTxn and AddOffsetsToTxn

    func addPartitions(transactionalId: String, producerId: Int64, producerEpoch: Int16, partitions: [TopicPartition]) -> [TopicPartition: KafkaErrorCode] {
        func all(_ code: KafkaErrorCode) -> [TopicPartition: KafkaErrorCode] {
            Dictionary(partitions.map { ($0, code) }, uniquingKeysWith: { a, _ in a })
        }
        var (found, code) = validate(transactionalId, producerId: producerId, producerEpoch: producerEpoch)
        guard var transaction = found, code == .noError else { return all(code) }
        let unknown = partitions.filter { topics.partition($0.topic, $0.partition) == nil }
        if !unknown.isEmpty {
            var result = all(.operationNotAttempted)
            for partition in unknown { result[partition] = .unknownTopicOrPartition }
            return result
        }
        if transaction.phase != .ongoing {
            transaction.phase = .ongoing
            transaction.partitions = []
            transaction.startedMs = BrokerCore.nowMs()
        }
        for partition in partitions where !transaction.partitions.contains(partition) {
            transaction.partitions.append(partition)
        }
        transactions[transactionalId] = transaction
        do { try save() } catch { code = .kafkaStorageError }
        return all(code)
    }

    /// AddOffsetsToTxn: the group's offsets partition joins the transaction, so the commit marker reaches it.
    func addOffsets(transactionalId: String, producerId: Int64, producerEpoch: Int16, groupId: String) -> KafkaErrorCode {
        let result = addPartitions(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch,
                                   partitions: [TopicPartition(topic: OffsetStore.topicName, partition: 0)])
        return result.values.first ?? .noError
    }

    /// TxnOffsetCommit is accepted only for a transaction that added the group's offsets.
    func isOffsetsPartitionInTransaction(transactionalId: String, producerId: Int64, producerEpoch: Int16) -> KafkaErrorCode {
        let (found, code) = validate(transactionalId, producerId: producerId, producerEpoch: producerEpoch)
        guard let transaction = found, code == .noError else { return code }
        guard transaction.phase == .ongoing,
              transaction.partitions.contains(TopicPartition(topic: OffsetStore.topicName, partition: 0)) else { return .invalidTxnState }
        return .noError
    }

    // MARK: EndTxn

    func endTransaction(transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool) -> KafkaErrorCode {
        let (found, code) = validate(transactionalId, producerId: producerId, producerEpoch: producerEpoch)
        guard var transaction = found, code == .noError else { return code }
        switch transaction.phase {
        case .ongoing:
            break
        case .completeCommit:
            // A retry of an EndTxn that already completed succeeds again; the opposite outcome is refused.
            return commit ? .noError : .invalidTxnState
        case .completeAbort:
            return commit ? .invalidTxnState : .noError
        case .empty:
            // Nothing was sent: aborting an empty transaction is harmless, committing one is a no-op.
            return .noError
        }
        do {
            try writeMarkers(for: transaction, commit: commit)
            transaction.phase = commit ? .completeCommit : .completeAbort
            transaction.partitions = []
            transactions[transactionalId] = transaction
            try save()
            return .noError
        } catch {
            return .kafkaStorageError
        }
    }

    private func writeMarkers(for transaction: Transaction, commit: Bool) throws {
        let now = BrokerCore.nowMs()
        for partition in transaction.partitions {
            if partition.topic == OffsetStore.topicName {
                try offsets.completeTransaction(producerId: transaction.producerId, producerEpoch: transaction.producerEpoch, commit: commit, coordinatorEpoch: 0)
            } else if let state = topics.partition(partition.topic, partition.partition) {
                try state.writeMarker(producerId: transaction.producerId, producerEpoch: transaction.producerEpoch, commit: commit, coordinatorEpoch: 0, nowMs: now)
            }
        }
    }

    /// Aborts transactions open longer than their timeout, bumping the epoch so the late producer is fenced.
    /// Returns whether any was aborted (so fetches waiting on the last stable offset can be woken).
    func abortExpired() -> Bool {
        let now = BrokerCore.nowMs()
        var aborted = false
        for (id, var transaction) in transactions where transaction.phase == .ongoing && now - transaction.startedMs > Int64(transaction.timeoutMs) {
            do {
                try bumpEpoch(&transaction)
                try writeMarkers(for: transaction, commit: false)
                transaction.phase = .completeAbort
                transaction.partitions = []
                transactions[id] = transaction
                aborted = true
            } catch {
                continue
            }
        }
        if aborted { try? save() }
        return aborted
    }

    /// For DescribeTransactions-like diagnostics and tests.
    func transaction(_ transactionalId: String) -> Transaction? { transactions[transactionalId] }
}

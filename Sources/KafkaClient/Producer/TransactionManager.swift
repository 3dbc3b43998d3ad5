import KafkaProtocol
import Synchronization

/// The transactional producer's state: the state machine of `TransactionState`, the
/// partitions and groups added to the open transaction, and the first error that made the
/// transaction abortable or the producer fenced.
///
/// Its lock is never held while calling into the accumulator; the accumulator calls
/// `mayDrain(_:)` under its own lock, so the order is always accumulator, then manager.
final class TransactionManager: Sendable {
    let transactionalId: String
    let transactionTimeout: Duration

    private struct State {
        var phase: TransactionState = .uninitialized
        var identity: ProducerIdentity?
        /// Partitions the coordinator confirmed as part of the open transaction.
        var added: Set<TopicPartition> = []
        /// Partitions with a batch ready to send that are not in the transaction yet.
        var wanted: Set<TopicPartition> = []
        /// An AddPartitionsToTxn is under way.
        var adding = false
        /// AddOffsetsToTxn succeeded for this transaction.
        var offsetsAdded = false
        /// Counts transactions, so that a late AddPartitionsToTxn answer for an ended
        /// transaction is not taken for the next one.
        var generation: UInt64 = 0
        /// Why the transaction must abort.
        var abortReason: String?
        /// A record failed in a way that leaves a gap in its partition's sequence numbers;
        /// the epoch is bumped after the abort so that sequences restart.
        var needsEpochBump = false
        var fatal: KafkaResponseError?
    }

    private let state = Mutex(State())

    /// Codes after which a transactional producer cannot go on: another instance with the same
    /// transactional id took over, or the id may not be used.
    static let fatalCodes: Set<KafkaErrorCode> = [
        .producerFenced, .invalidProducerEpoch, .transactionalIdAuthorizationFailed, .invalidProducerIdMapping,
        .invalidTxnState, .unsupportedForMessageFormat, .clusterAuthorizationFailed,
    ]

    init(transactionalId: String, transactionTimeout: Duration) {
        self.transactionalId = transactionalId
        self.transactionTimeout = transactionTimeout
    }

    var phase: TransactionState { state.withLock { $0.phase } }
    var identity: ProducerIdentity? { state.withLock { $0.identity } }

    // MARK: Transitions

    /// Moves from one of `allowed` to `next`, or throws the error that explains why not.
    func transition(_ operation: String, from allowed: Set<TransactionState>, to next: TransactionState) throws(KafkaProducerError) {
        try state.withLock { state throws(KafkaProducerError) in
            if let fatal = state.fatal { throw .transactionFatal(fatal) }
            guard allowed.contains(state.phase) else {
                if state.phase == .abortableError, let reason = state.abortReason, next != .aborting {
                    throw .transactionAbortable(reason: reason)
                }
                throw .invalidTransactionState(operation: operation, state: state.phase)
            }
            state.phase = next
        }
    }

    /// `initTransactions()` succeeded (or an abort bumped the epoch).
    func initialized(_ identity: ProducerIdentity) {
        state.withLock { state in
            state.identity = identity
            state.needsEpochBump = false
            if state.phase == .uninitialized { state.phase = .ready }
        }
    }

    /// Checked before each record is appended.
    func checkSend() throws(KafkaProducerError) {
        try state.withLock { state throws(KafkaProducerError) in
            switch state.phase {
            case .inTransaction: return
            case .fatalError: throw .transactionFatal(state.fatal ?? KafkaResponseError(code: .producerFenced, context: "transactional id '\(transactionalId)'"))
            case .abortableError: throw .transactionAbortable(reason: state.abortReason ?? "an earlier error")
            default: throw .invalidTransactionState(operation: "send", state: state.phase)
            }
        }
    }

    /// The transaction ended (committed or aborted): back to `ready` with nothing added.
    func ended() {
        state.withLock { state in
            guard state.fatal == nil else { return }
            state.phase = .ready
            state.added = []
            state.wanted = []
            state.offsetsAdded = false
            state.abortReason = nil
            state.generation += 1
        }
    }

    /// Something in the transaction failed; the transaction can only be aborted. Returns true
    /// when this moved the state (so that queued records are failed now rather than later).
    @discardableResult
    func abortable(_ reason: String, epochBump: Bool = false) -> Bool {
        state.withLock { state in
            if epochBump { state.needsEpochBump = true }
            guard state.phase == .inTransaction || state.phase == .committing else { return false }
            state.phase = .abortableError
            state.abortReason = reason
            return true
        }
    }

    /// Fenced or not authorized: nothing more is sent, ever. Returns true the first time.
    @discardableResult
    func fatal(_ error: KafkaResponseError) -> Bool {
        state.withLock { state in
            guard state.fatal == nil else { return false }
            state.fatal = error
            state.phase = .fatalError
            return true
        }
    }

    /// The coordinator refused a request of the transaction: fatal codes fence the producer,
    /// the others make the transaction abortable (an abort under way just fails). Returns the
    /// error for the caller to throw.
    @discardableResult
    func refused(_ response: KafkaResponseError) -> KafkaProducerError {
        if Self.fatalCodes.contains(response.code) {
            fatal(response)
            return .transactionFatal(response)
        }
        if phase == .aborting { return .broker(response) }
        abortable("\(response)")
        return .transactionAbortable(reason: "\(response)")
    }

    var fatalError: KafkaResponseError? { state.withLock { $0.fatal } }
    var abortReason: String? { state.withLock { $0.abortReason } }
    var needsEpochBump: Bool { state.withLock { $0.needsEpochBump } }

    /// Whether the coordinator knows of anything in this transaction (else EndTxn is skipped).
    var hasCoordinatorState: Bool { state.withLock { !$0.added.isEmpty || $0.offsetsAdded || $0.adding } }

    // MARK: Records and the outcome of a batch

    /// A batch sent in the transaction failed for good.
    /// - Returns: the error queued records should fail with now, if this failure changed the state.
    func batchFailed(_ error: KafkaProducerError) -> KafkaProducerError? {
        switch error {
        case .transactionFatal(let response):
            return fatal(response) ? error : nil
        case .transactionAborted, .closed, .cancelled:
            return nil
        default:
            let bump: Bool
            switch error {
            case .deliveryTimedOut, .brokerUnreachable: bump = true   // may be in the log: sequences cannot continue
            case .broker(let response): bump = response.code == .outOfOrderSequenceNumber || response.code == .unknownProducerId
            default: bump = false
            }
            let reason = "a record was not delivered: \(error)"
            return abortable(reason, epochBump: bump) ? .transactionAbortable(reason: reason) : nil
        }
    }

    // MARK: Partitions

    /// Whether a partition's batches may be sent now, must wait, or must fail; remembers
    /// partitions that must first be added to the transaction. Called under the accumulator's lock.
    func verdict(_ partition: TopicPartition) -> RecordAccumulator.PartitionVerdict {
        state.withLock { state in
            switch state.phase {
            case .inTransaction, .committing:
                if state.added.contains(partition) { return .send }
                state.wanted.insert(partition)
                return .wait
            case .aborting:
                return .fail(.transactionAborted)
            case .abortableError:
                return .fail(.transactionAbortable(reason: state.abortReason ?? "an earlier error"))
            case .fatalError:
                return .fail(.transactionFatal(state.fatal ?? KafkaResponseError(code: .producerFenced, context: "transactional id '\(transactionalId)'")))
            case .uninitialized, .ready:
                // Only a send racing a commit or abort gets here; it goes in the next transaction.
                return .wait
            }
        }
    }

    /// The partitions to add with one AddPartitionsToTxn, if one should be sent now.
    func takePartitionsToAdd() -> (identity: ProducerIdentity, generation: UInt64, partitions: [TopicPartition])? {
        state.withLock { state in
            guard !state.adding, !state.wanted.isEmpty, let identity = state.identity,
                  state.phase == .inTransaction || state.phase == .committing else { return nil }
            state.adding = true
            let partitions = state.wanted.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
            state.wanted = []
            return (identity, state.generation, partitions)
        }
    }

    /// An AddPartitionsToTxn ended: `added` are in the transaction (none when it failed).
    func partitionsAnswered(generation: UInt64, added: [TopicPartition]) {
        state.withLock { state in
            state.adding = false
            guard generation == state.generation else { return }
            state.added.formUnion(added)
        }
    }

    /// Whether an AddPartitionsToTxn is under way.
    var isAddingPartitions: Bool { state.withLock { $0.adding } }

    /// AddOffsetsToTxn succeeded.
    func offsetsAdded() {
        state.withLock { $0.offsetsAdded = true }
    }
}

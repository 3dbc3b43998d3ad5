import KafkaProtocol
import Logging

/// Transactions: records sent between `beginTransaction()` and `commitTransaction()` become
/// visible to read_committed consumers together, with the consumer offsets passed to
/// `sendOffsetsToTransaction`, or not at all. See docs/exactly-once.md.
extension KafkaProducer {
    /// Where the transaction is; nil for a producer without `transactionalId`.
    public var transactionState: TransactionState? { transactions?.phase }

    /// Registers the transactional id with its transaction coordinator (InitProducerId) and
    /// gets the producer id and epoch. Fences every older producer with the same id: their
    /// open transaction is aborted and they can write nothing more. Call once, before anything
    /// else; it retries while the coordinator loads, moves or finishes an earlier transaction,
    /// for at most `maxBlock`.
    ///
    /// - Throws: `invalidTransactionState` without `transactionalId` or when already
    ///   initialized; `transactionFatal` when not authorized; `timedOut`; `broker` for a refused
    ///   transaction timeout (above the broker's `transaction.max.timeout.ms`).
    public func initTransactions() async throws(KafkaProducerError) {
        let manager = try transactionManager("initTransactions")
        guard manager.phase == .uninitialized else {
            if let fatal = manager.fatalError { throw .transactionFatal(fatal) }
            throw .invalidTransactionState(operation: "initTransactions", state: manager.phase)
        }
        let identity = try await initProducerId(manager, current: nil)
        accumulator.installIdentity(identity)
        manager.initialized(identity)
    }

    /// Opens a transaction. Needs `ready`: after `initTransactions()` and after the previous
    /// transaction was committed or aborted. Local only; the coordinator learns of the
    /// transaction with its first partition or offsets.
    public func beginTransaction() throws(KafkaProducerError) {
        try transactionManager("beginTransaction").transition("beginTransaction", from: [.ready], to: .inTransaction)
    }

    /// Adds a consumer's offsets to the transaction: they are committed for the consumer's
    /// group if and only if the transaction commits (AddOffsetsToTxn, then TxnOffsetCommit to
    /// the group coordinator). `groupMetadata` is `KafkaConsumer.groupMetadata()`: the group
    /// coordinator refuses the offsets of a member that is no longer in the group's current
    /// generation (a zombie after a rebalance), which makes the transaction abortable.
    ///
    /// - Parameter offsets: per partition, the offset of the next record to read (one past
    ///   the last record processed).
    /// - Throws: `transactionAbortable` when the group refused the commit (stale generation,
    ///   unknown or fenced member) or another error ended the transaction; `transactionFatal`;
    ///   `invalidTransactionState` outside a transaction; `timedOut`.
    public func sendOffsetsToTransaction(_ offsets: [TopicPartition: OffsetAndMetadata], groupMetadata: ConsumerGroupMetadata) async throws(KafkaProducerError) {
        let manager = try transactionManager("sendOffsetsToTransaction")
        try manager.transition("sendOffsetsToTransaction", from: [.inTransaction], to: .inTransaction)
        guard !offsets.isEmpty else { return }
        guard let identity = manager.identity else { throw .invalidTransactionState(operation: "sendOffsetsToTransaction", state: manager.phase) }
        let group = groupMetadata.groupId

        let addOffsets = AddOffsetsToTxnRequest(transactionalId: manager.transactionalId, producerId: identity.producerId,
                                                producerEpoch: identity.epoch, groupId: group)
        let (_, addCode) = try await coordinatorRequest(addOffsets, maxVersion: 3, key: manager.transactionalId, type: .transaction,
                                                        what: "AddOffsetsToTxn for group '\(group)'") { KafkaErrorCode($0.errorCode) }
        guard addCode == .noError else {
            throw transactionFailed(manager, code: addCode, context: "AddOffsetsToTxn for group '\(group)'")
        }
        manager.offsetsAdded()

        let byTopic = Dictionary(grouping: offsets, by: { $0.key.topic })
        let commit = TxnOffsetCommitRequest(
            transactionalId: manager.transactionalId, groupId: group, producerId: identity.producerId, producerEpoch: identity.epoch,
            generationId: groupMetadata.generationId, memberId: groupMetadata.memberId, groupInstanceId: groupMetadata.groupInstanceId,
            topics: byTopic.keys.sorted().map { topic in
                TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic(name: topic, partitions: byTopic[topic]!.sorted { $0.key.partition < $1.key.partition }.map {
                    TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition(
                        partitionIndex: $0.key.partition, committedOffset: $0.value.offset,
                        committedLeaderEpoch: $0.value.leaderEpoch ?? -1, committedMetadata: $0.value.metadata)
                })
            })
        let (_, commitCode) = try await coordinatorRequest(commit, maxVersion: 3, key: group, type: .group,
                                                           what: "TxnOffsetCommit for group '\(group)'") { response in
            response.topics.lazy.flatMap(\.partitions).map { KafkaErrorCode($0.errorCode) }.first { $0 != .noError } ?? .noError
        }
        guard commitCode == .noError else {
            let context: String
            switch commitCode {
            case .unknownMemberId, .illegalGeneration, .fencedInstanceId, .rebalanceInProgress:
                context = "TxnOffsetCommit: member '\(groupMetadata.memberId)' of generation \(groupMetadata.generationId) is no longer current in group '\(group)'"
            default:
                context = "TxnOffsetCommit for group '\(group)'"
            }
            throw transactionFailed(manager, code: commitCode, context: context)
        }
    }

    /// Sends every record of the transaction (flush), then commits it (EndTxn): its records
    /// become visible to read_committed consumers and its offsets are committed.
    ///
    /// - Throws: `transactionAbortable` when a record was not delivered or another error ended
    ///   the transaction (call `abortTransaction()`); `transactionFatal`; `timedOut` when the
    ///   coordinator did not answer within `maxBlock` (calling `commitTransaction()` again
    ///   resumes); `invalidTransactionState` outside a transaction.
    public func commitTransaction() async throws(KafkaProducerError) {
        let manager = try transactionManager("commitTransaction")
        try manager.transition("commitTransaction", from: [.inTransaction, .committing], to: .committing)
        sender.wake()
        try await flush()
        if let fatal = manager.fatalError { throw .transactionFatal(fatal) }
        if manager.phase == .abortableError { throw .transactionAbortable(reason: manager.abortReason ?? "an earlier error") }
        try await waitForPartitionAdds(manager)
        if manager.hasCoordinatorState {
            try await endTransaction(manager, commit: true)
        }
        manager.ended()
    }

    /// Ends the transaction without committing: records not yet sent are dropped (their
    /// callers get `transactionAborted`), records already written are marked aborted, so
    /// read_committed consumers never see them, and offsets sent with the transaction are
    /// discarded. Allowed in a transaction and after an abortable error.
    ///
    /// - Throws: `transactionFatal`; `timedOut` (calling `abortTransaction()` again resumes);
    ///   `invalidTransactionState` outside a transaction.
    public func abortTransaction() async throws(KafkaProducerError) {
        let manager = try transactionManager("abortTransaction")
        try manager.transition("abortTransaction", from: Self.abortableStates, to: .aborting)
        try await abort(manager, until: nil)
        if manager.needsEpochBump || accumulator.snapshot.resetPending, let current = manager.identity {
            // A record that may have been written was given up: its partition's sequence
            // numbers cannot continue. A new epoch (KIP-360) restarts them.
            let identity = try await initProducerId(manager, current: current)
            accumulator.installIdentity(identity)
            manager.initialized(identity)
        }
        manager.ended()
    }

    /// The states from which a transaction can be aborted (`.aborting`: an abort that timed out).
    private static let abortableStates: Set<TransactionState> = [.inTransaction, .abortableError, .aborting]

    /// A graceful `close()` aborts a transaction left open, so that read_committed consumers
    /// and the last stable offset move on now rather than after `transactionTimeout`. A failure
    /// (coordinator unreachable by `deadline`, fenced meanwhile) is logged; the close goes on.
    func abortOpenTransaction(until deadline: ContinuousClock.Instant) async {
        guard let manager = transactions, Self.abortableStates.contains(manager.phase), ContinuousClock.now < deadline else { return }
        let metadata: Logger.Metadata = ["transactional.id": "\(manager.transactionalId)"]
        logger.info("aborting incomplete transaction on close", metadata: metadata)
        do throws(KafkaProducerError) {
            try manager.transition("close", from: Self.abortableStates, to: .aborting)
            // No epoch bump: the next initTransactions() with this id gets a new epoch anyway.
            try await abort(manager, until: deadline)
            manager.ended()
        } catch {
            logger.warning("could not abort the incomplete transaction; the coordinator aborts it after the transaction timeout",
                           metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// Ends a transaction in `aborting`: the sender fails every queued batch, those in flight
    /// land, then EndTxn with abort. `deadline` bounds all of it; without one each coordinator
    /// request has `maxBlock`.
    private func abort(_ manager: TransactionManager, until deadline: ContinuousClock.Instant?) async throws(KafkaProducerError) {
        sender.wake()
        if let deadline {
            guard await flush(until: deadline) else { throw .timedOut(waiting: "records in flight before aborting the transaction") }
        } else {
            try await flush()
        }
        if let fatal = manager.fatalError { throw .transactionFatal(fatal) }
        try await waitForPartitionAdds(manager, until: deadline)
        if manager.hasCoordinatorState {
            try await endTransaction(manager, commit: false, deadline: deadline)
        }
    }

    // MARK: Coordinator requests

    func transactionManager(_ operation: String) throws(KafkaProducerError) -> TransactionManager {
        guard let transactions else {
            throw .invalidTransactionState(operation: "\(operation) without a transactionalId", state: .uninitialized)
        }
        return transactions
    }

    private func coordinatorRequest<R: KafkaRequestMessage>(
        _ request: R, maxVersion: Int16, key: String, type: KafkaCluster.CoordinatorType, what: String,
        deadline: ContinuousClock.Instant? = nil, code: (R.Response) -> KafkaErrorCode
    ) async throws(KafkaProducerError) -> (R.Response, KafkaErrorCode) {
        let requester = CoordinatorRequester(cluster: cluster, retryBackoff: configuration.client.retryBackoff,
                                             deadline: deadline ?? .now + configuration.maxBlock)
        do throws(KafkaProducerError) {
            return try await requester.send(request, maxVersion: maxVersion, key: key, type: type, what: what, code: code)
        } catch .transactionFatal(let response) {
            if let transactions { transactions.fatal(response) }
            sender.wake()
            throw .transactionFatal(response)
        }
    }

    /// InitProducerId with the transactional id; `current` asks for an epoch bump of the
    /// producer's own identity (KIP-360) instead of fencing.
    private func initProducerId(_ manager: TransactionManager, current: ProducerIdentity?) async throws(KafkaProducerError) -> ProducerIdentity {
        let request = InitProducerIdRequest(
            transactionalId: manager.transactionalId, transactionTimeoutMs: Int32(clamping: manager.transactionTimeout.milliseconds),
            producerId: current?.producerId ?? -1, producerEpoch: current?.epoch ?? -1)
        let (response, code) = try await coordinatorRequest(request, maxVersion: 4, key: manager.transactionalId, type: .transaction,
                                                            what: "InitProducerId for transactional id '\(manager.transactionalId)'") {
            KafkaErrorCode($0.errorCode)
        }
        switch code {
        case .noError:
            return ProducerIdentity(producerId: response.producerId, epoch: response.producerEpoch)
        case _ where TransactionManager.fatalCodes.contains(code):
            let error = KafkaResponseError(code: code, context: "InitProducerId for transactional id '\(manager.transactionalId)'")
            manager.fatal(error)
            sender.wake()
            throw .transactionFatal(error)
        default:
            throw .broker(KafkaResponseError(code: code, context: "InitProducerId for transactional id '\(manager.transactionalId)'"))
        }
    }

    private func endTransaction(_ manager: TransactionManager, commit: Bool, deadline: ContinuousClock.Instant? = nil) async throws(KafkaProducerError) {
        guard let identity = manager.identity else { return }
        let request = EndTxnRequest(transactionalId: manager.transactionalId, producerId: identity.producerId,
                                    producerEpoch: identity.epoch, committed: commit)
        let what = "EndTxn (\(commit ? "commit" : "abort"))"
        let (_, code) = try await coordinatorRequest(request, maxVersion: 3, key: manager.transactionalId, type: .transaction, what: what,
                                                     deadline: deadline) {
            KafkaErrorCode($0.errorCode)
        }
        guard code == .noError else { throw transactionFailed(manager, code: code, context: what) }
    }

    /// Classifies a coordinator's refusal (`TransactionManager.refused(_:)`) and wakes the
    /// sender, which fails the queued records. Returns the error to throw.
    private func transactionFailed(_ manager: TransactionManager, code: KafkaErrorCode, context: String) -> KafkaProducerError {
        let error = manager.refused(KafkaResponseError(code: code, context: context))
        sender.wake()
        return error
    }

    /// Waits for an AddPartitionsToTxn under way, so that the coordinator's view of the
    /// transaction is complete before it ends.
    private func waitForPartitionAdds(_ manager: TransactionManager, until deadline: ContinuousClock.Instant? = nil) async throws(KafkaProducerError) {
        while manager.isAddingPartitions {
            if let deadline, ContinuousClock.now >= deadline { throw .timedOut(waiting: "AddPartitionsToTxn before aborting the transaction") }
            do { try await Task.sleep(for: .milliseconds(1)) } catch { throw .cancelled }
        }
    }
}

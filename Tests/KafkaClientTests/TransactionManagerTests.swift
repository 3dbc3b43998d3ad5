import KafkaProtocol
import Testing
@testable import KafkaClient

/// The transaction state machine on its own: which partitions the sender may drain in each
/// state, how failed batches are classified, and late AddPartitionsToTxn answers.
@Suite struct TransactionManagerTests {
    let partition = TopicPartition("t", 0)

    func started() throws -> TransactionManager {
        let manager = TransactionManager(transactionalId: "id", transactionTimeout: .seconds(60))
        manager.initialized(ProducerIdentity(producerId: 7, epoch: 0))
        try manager.transition("beginTransaction", from: [.ready], to: .inTransaction)
        return manager
    }

    func isSend(_ verdict: RecordAccumulator.PartitionVerdict) -> Bool {
        if case .send = verdict { return true }
        return false
    }

    func isWait(_ verdict: RecordAccumulator.PartitionVerdict) -> Bool {
        if case .wait = verdict { return true }
        return false
    }

    func failure(_ verdict: RecordAccumulator.PartitionVerdict) -> KafkaProducerError? {
        if case .fail(let error) = verdict { return error }
        return nil
    }

    @Test func aPartitionWaitsUntilTheCoordinatorAddedIt() throws {
        let manager = try started()
        #expect(isWait(manager.verdict(partition)))
        let add = try #require(manager.takePartitionsToAdd())
        #expect(add.partitions == [partition] && add.identity.producerId == 7)
        #expect(manager.takePartitionsToAdd() == nil)   // one request at a time
        #expect(manager.isAddingPartitions)
        manager.partitionsAnswered(generation: add.generation, added: [partition])
        #expect(isSend(manager.verdict(partition)))
        #expect(manager.hasCoordinatorState)
    }

    @Test func anAnswerForAnEndedTransactionDoesNotCountForTheNext() throws {
        let manager = try started()
        _ = manager.verdict(partition)
        let add = try #require(manager.takePartitionsToAdd())
        try manager.transition("abortTransaction", from: [.inTransaction], to: .aborting)
        manager.ended()
        try manager.transition("beginTransaction", from: [.ready], to: .inTransaction)
        manager.partitionsAnswered(generation: add.generation, added: [partition])
        #expect(isWait(manager.verdict(partition)))   // must be added to the new transaction again
    }

    @Test func abortingFailsQueuedBatchesAndFencingFailsEverything() throws {
        let manager = try started()
        try manager.transition("abortTransaction", from: [.inTransaction], to: .aborting)
        #expect(failure(manager.verdict(partition)) == .transactionAborted)

        let fenced = try started()
        #expect(fenced.fatal(KafkaResponseError(code: .producerFenced, context: "test")))
        #expect(failure(fenced.verdict(partition))?.isFatal == true)
        #expect(throws: KafkaProducerError.self) { try fenced.checkSend() }
        #expect(fenced.phase == .fatalError)
        // No way back: not even an abort.
        do throws(KafkaProducerError) {
            try fenced.transition("abortTransaction", from: [.inTransaction, .abortableError], to: .aborting)
            Issue.record("a fenced producer was allowed to abort")
        } catch {
            #expect(error.isFatal)
        }
    }

    @Test func failedBatchesAreClassified() throws {
        let delivered = try started()
        #expect(delivered.batchFailed(.messageTooLarge(topic: "t", partition: 0))?.requiresAbort == true)
        #expect(delivered.phase == .abortableError)
        #expect(!delivered.needsEpochBump)   // refused: not in the log, sequences go on
        #expect(failure(delivered.verdict(partition))?.requiresAbort == true)

        let maybeWritten = try started()
        _ = maybeWritten.batchFailed(.deliveryTimedOut(topic: "t", partition: 0, lastError: nil))
        #expect(maybeWritten.needsEpochBump)  // may be in the log: the abort bumps the epoch

        let fenced = try started()
        #expect(fenced.batchFailed(.transactionFatal(KafkaResponseError(code: .invalidProducerEpoch, context: "produce")))?.isFatal == true)
        #expect(fenced.phase == .fatalError)

        let aborted = try started()
        #expect(aborted.batchFailed(.transactionAborted) == nil)
        #expect(aborted.phase == .inTransaction)
    }

    @Test func aCoordinatorRefusalFencesOrMakesTheTransactionAbortable() throws {
        let fenced = try started()
        let fencing = KafkaResponseError(code: .producerFenced, context: "EndTxn")
        #expect(fenced.refused(fencing) == .transactionFatal(fencing))
        #expect(fenced.phase == .fatalError)

        let refused = try started()
        let stale = KafkaResponseError(code: .illegalGeneration, context: "TxnOffsetCommit")
        #expect(refused.refused(stale).requiresAbort)
        #expect(refused.phase == .abortableError)

        // An abort that is refused just fails: the transaction stays aborting, to be retried.
        let aborting = try started()
        try aborting.transition("abortTransaction", from: [.inTransaction], to: .aborting)
        #expect(aborting.refused(stale) == .broker(stale))
        #expect(aborting.phase == .aborting)
    }

    @Test func coordinatorAnswersThatAreRetriedInsideTheClient() {
        let backoff = Duration.milliseconds(100)
        func disposition(_ code: KafkaErrorCode) -> CoordinatorRequester.Disposition {
            CoordinatorRequester.disposition(of: code, retryBackoff: backoff)
        }
        #expect(disposition(.concurrentTransactions) == .retry(pause: .milliseconds(20)))
        #expect(disposition(.coordinatorLoadInProgress) == .retry(pause: backoff))
        #expect(disposition(.notCoordinator) == .findCoordinatorAgain(pause: backoff))
        #expect(disposition(.coordinatorNotAvailable) == .findCoordinatorAgain(pause: backoff))
        for final in [KafkaErrorCode.noError, .producerFenced, .invalidProducerEpoch, .transactionalIdAuthorizationFailed,
                      .illegalGeneration, .unknownMemberId, .invalidTxnState] {
            #expect(disposition(final) == .done)
        }
    }
}

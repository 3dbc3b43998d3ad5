import KafkaProtocol

/// A batch's acknowledgement: where its first record went.
struct BatchAcknowledgement: Sendable {
    /// -1 when unknown (acks = 0, or a duplicate reported without offsets).
    var baseOffset: Int64
    /// The broker's append time for `LogAppendTime` topics, else -1.
    var logAppendTime: Int64
}

/// What the accumulator decided under its lock and the caller carries out after releasing it:
/// resuming callers, reporting deliveries, running interceptors. Nothing here may run under the
/// lock, because resumed tasks and interceptors may call back into the producer.
struct BatchCompletions: Sendable {
    var batches: [(ProducerBatch, Result<BatchAcknowledgement, KafkaProducerError>)] = []
    var memoryGrants: [UnsafeContinuation<BufferMemory.Grant, Never>] = []
    var memoryRefusals: [(UnsafeContinuation<BufferMemory.Grant, Never>, BufferMemory.Grant)] = []
    var flushes: [UnsafeContinuation<Void, Never>] = []

    var isEmpty: Bool { batches.isEmpty && memoryGrants.isEmpty && memoryRefusals.isEmpty && flushes.isEmpty }

    mutating func append(contentsOf other: BatchCompletions) {
        batches += other.batches
        memoryGrants += other.memoryGrants
        memoryRefusals += other.memoryRefusals
        flushes += other.flushes
    }
}

/// Where record outcomes go: callers of `send`, interceptors and the delivery-report stream.
struct CompletionTargets: Sendable {
    /// Told when outcomes have been delivered, so that flushes resume only after their reports.
    var accumulator: RecordAccumulator
    var interceptors: [any ProducerInterceptor]
    var reports: AsyncStream<DeliveryReport>.Continuation?
    var reportMode: DeliveryReportMode
    /// A transactional producer's state, told about every batch that failed for good.
    var transactions: TransactionManager? = nil
    /// Woken when a failure changed the transaction's state, so that queued batches fail now.
    var wakeup: SenderWakeup? = nil
    var onBatchCompletion: (@Sendable (BatchDelivery) -> Void)? = nil

    /// Runs everything in `completions`. Call without holding the accumulator's lock.
    func fire(_ completions: BatchCompletions) {
        var transactionChanged = false
        for (batch, result) in completions.batches {
            if let transactions, case .failure(let error) = result, transactions.batchFailed(error) != nil {
                transactionChanged = true
            }
            complete(batch, result)
        }
        if transactionChanged { wakeup?.signal() }
        for flush in accumulator.fired(completions.batches.map(\.0.serial)) { flush.resume() }
        for waiter in completions.memoryGrants { waiter.resume(returning: .granted) }
        for (waiter, outcome) in completions.memoryRefusals { waiter.resume(returning: outcome) }
        for flush in completions.flushes { flush.resume() }
    }

    /// Whether outcomes of individual fire-and-forget records are wanted for this result; only
    /// then are the batch's records decoded back.
    private func wantsEveryRecord(_ result: Result<BatchAcknowledgement, KafkaProducerError>) -> Bool {
        if !interceptors.isEmpty { return true }
        guard reports != nil else { return false }
        switch (reportMode, result) {
        case (.all, _), (.failuresOnly, .failure): return true
        default: return false
        }
    }

    private func complete(_ batch: ProducerBatch, _ result: Result<BatchAcknowledgement, KafkaProducerError>) {
        let topic = batch.topicPartition.topic
        let partition = batch.topicPartition.partition
        onBatchCompletion?(BatchDelivery(topicPartition: batch.topicPartition, recordCount: Int(batch.recordCount),
                                         result: result.map(\.baseOffset)))
        func outcome(offsetDelta: Int32, timestamp: Int64) -> Result<RecordMetadata, KafkaProducerError> {
            result.map { ack in
                RecordMetadata(topic: topic, partition: partition,
                               offset: ack.baseOffset >= 0 ? ack.baseOffset + Int64(offsetDelta) : -1,
                               timestamp: ack.logAppendTime >= 0 ? ack.logAppendTime : timestamp)
            }
        }
        func intercept(_ outcome: Result<RecordMetadata, KafkaProducerError>) {
            switch outcome {
            case .success(let metadata): for interceptor in interceptors { interceptor.onAcknowledgement(metadata) }
            case .failure(let error): for interceptor in interceptors { interceptor.onError(error, topic: topic, partition: partition) }
            }
        }
        let waiting = batch.pending
        batch.pending = []
        guard wantsEveryRecord(result) else {
            for record in waiting {
                record.continuation.resume(returning: .delivered(outcome(offsetDelta: record.offsetDelta, timestamp: record.timestamp)))
            }
            return
        }
        // Every record in offset order; those with a waiting caller resume it, the others
        // (sent with `sendAndForget`) are reported.
        var next = 0
        for (offsetDelta, record) in batch.decodedRecords() {
            let recordOutcome = outcome(offsetDelta: offsetDelta, timestamp: record.timestamp ?? -1)
            intercept(recordOutcome)
            if next < waiting.count && waiting[next].offsetDelta == offsetDelta {
                waiting[next].continuation.resume(returning: .delivered(recordOutcome))
                next += 1
            } else if reportMode == .all || (reportMode == .failuresOnly && (try? recordOutcome.get()) == nil) {
                reports?.yield(DeliveryReport(record: record, result: recordOutcome))
            }
        }
        // Only if the records could not be decoded back (never expected): callers still get their outcome.
        for record in waiting[next...] {
            record.continuation.resume(returning: .delivered(outcome(offsetDelta: record.offsetDelta, timestamp: record.timestamp)))
        }
    }
}

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

/// Where record outcomes go: interceptors and the delivery-report stream.
struct CompletionTargets: Sendable {
    var interceptors: [any ProducerInterceptor]
    var reports: AsyncStream<DeliveryReport>.Continuation?
    var reportMode: DeliveryReportMode

    /// Whether every record needs its own entry in its batch, even fire-and-forget ones.
    var tracksEveryRecord: Bool { !interceptors.isEmpty }

    /// Runs everything in `completions`. Call without holding the accumulator's lock.
    func fire(_ completions: BatchCompletions) {
        for (batch, result) in completions.batches {
            complete(batch, result)
        }
        for waiter in completions.memoryGrants { waiter.resume(returning: .granted) }
        for (waiter, outcome) in completions.memoryRefusals { waiter.resume(returning: outcome) }
        for flush in completions.flushes { flush.resume() }
    }

    private func complete(_ batch: ProducerBatch, _ result: Result<BatchAcknowledgement, KafkaProducerError>) {
        let topic = batch.topicPartition.topic
        let partition = batch.topicPartition.partition
        for record in batch.pending {
            let outcome: Result<RecordMetadata, KafkaProducerError>
            switch result {
            case .success(let ack):
                let offset = ack.baseOffset >= 0 ? ack.baseOffset + Int64(record.offsetDelta) : -1
                let timestamp = ack.logAppendTime >= 0 ? ack.logAppendTime : record.timestamp
                let metadata = RecordMetadata(topic: topic, partition: partition, offset: offset, timestamp: timestamp)
                for interceptor in interceptors { interceptor.onAcknowledgement(metadata) }
                outcome = .success(metadata)
            case .failure(let error):
                for interceptor in interceptors { interceptor.onError(error, topic: topic, partition: partition) }
                outcome = .failure(error)
            }
            switch record.completion {
            case .awaiting(let continuation):
                continuation.resume(returning: .delivered(outcome))
            case .report(let sent):
                if case .failure = outcome, reportMode != .none {
                    reports?.yield(DeliveryReport(record: sent, result: outcome))
                } else if reportMode == .all {
                    reports?.yield(DeliveryReport(record: sent, result: outcome))
                }
            case .silent:
                break
            }
        }
        // The records' buffers are no longer needed.
        batch.pending = []
    }
}

import KafkaClient
import KafkaProtocol
import Logging
import Synchronization

/// A stream thread's producer: output records and changelog writes of all its tasks go through
/// it, and the commit of consumed offsets is its last step.
///
/// At least once, a commit is: flush (every record sent is acknowledged, or the commit fails),
/// then commit the input offsets through the group. Exactly once will replace it with
/// `sendOffsetsToTransaction` and `commitTransaction` behind the same two calls.
///
/// Outcomes are counted per batch where the producer learns them, before a flush waiting for
/// the batch returns, so a flush that returned has seen the outcome of everything sent before it.
final class StreamsProducer: Sendable {
    let producer: KafkaProducer
    private let outcomes: DeliveryOutcomes

    /// What the producer learned of the batches it delivered: the first failure, and the offset
    /// of the last record acknowledged per partition.
    final class DeliveryOutcomes: Sendable {
        private struct State {
            var firstFailure: (partition: TopicPartition, error: KafkaProducerError)?
            var lastOffsets: [TopicPartition: Int64] = [:]
        }
        private let state = Mutex(State())

        func record(_ delivery: BatchDelivery) {
            state.withLock { state in
                switch delivery.result {
                case .failure(let error):
                    if state.firstFailure == nil { state.firstFailure = (delivery.topicPartition, error) }
                case .success:
                    if let last = delivery.lastOffset {
                        state.lastOffsets[delivery.topicPartition] = max(last, state.lastOffsets[delivery.topicPartition] ?? -1)
                    }
                }
            }
        }

        var firstFailure: (partition: TopicPartition, error: KafkaProducerError)? { state.withLock { $0.firstFailure } }

        func lastOffsets(of topics: Set<String>) -> [TopicPartition: Int64] {
            state.withLock { $0.lastOffsets.filter { topics.contains($0.key.topic) } }
        }
    }

    /// A producer whose outcomes this stream producer counts (delivery reports are off).
    static func make(configuration: ProducerConfiguration, logger: Logger) async throws -> StreamsProducer {
        let outcomes = DeliveryOutcomes()
        var configuration = configuration
        configuration.deliveryReports = .none
        configuration.onBatchCompletion = { outcomes.record($0) }
        return StreamsProducer(producer: try await KafkaProducer.make(configuration: configuration, logger: logger), outcomes: outcomes)
    }

    private init(producer: KafkaProducer, outcomes: DeliveryOutcomes) {
        self.producer = producer
        self.outcomes = outcomes
    }

    /// Waits until everything sent is acknowledged; throws if any record was not delivered.
    /// Hands records to the producer in order (it waits only while the producer's buffer is
    /// full), stopping at the first that fails to be sent. One call for many records: this
    /// class's async methods run off the calling stream thread's actor, so a call per record
    /// would hop executors twice per record.
    func send(_ records: SerializedRecords) async throws {
        do {
            try await producer.sendAndForget(records)
        } catch {
            throw StreamsError.send(topic: records.topic(at: error.index), underlying: error.error)
        }
        try checkDeliveries()
    }

    /// ``send(_:)`` for records given one by one.
    func send(contentsOf records: [ProducerRecord]) async throws {
        var serialized = SerializedRecords()
        for record in records { serialized.append(record) }
        try await send(serialized)
    }

    func flush() async throws {
        do {
            try await producer.flush()
        } catch {
            throw StreamsError.send(topic: "*", underlying: error)
        }
        try checkDeliveries()
    }

    /// Commits consumed offsets once everything sent before is acknowledged.
    func commit(_ offsets: [TopicPartition: Int64], through consumer: KafkaConsumer) async throws {
        try await flush()
        guard !offsets.isEmpty else { return }
        try await consumer.commit(offsets.mapValues { OffsetAndMetadata(offset: $0) })
    }

    /// The offset of the last record acknowledged per partition of `topics`.
    func acknowledgedOffsets(of topics: Set<String>) -> [TopicPartition: Int64] {
        outcomes.lastOffsets(of: topics)
    }

    private func checkDeliveries() throws {
        if let failure = outcomes.firstFailure {
            throw StreamsError.send(topic: "\(failure.partition)", underlying: failure.error)
        }
    }

    func close() async {
        await producer.close()
    }
}

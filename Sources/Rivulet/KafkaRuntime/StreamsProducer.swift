import KafkaClient
import KafkaProtocol
import Synchronization

/// A stream thread's producer: output records and changelog writes of all its tasks go through
/// it, and the commit of consumed offsets is its last step.
///
/// At least once, a commit is: flush (every record sent is acknowledged, or the commit fails),
/// then commit the input offsets through the group. Exactly once will replace it with
/// `sendOffsetsToTransaction` and `commitTransaction` behind the same two calls.
final class StreamsProducer: Sendable {
    let producer: KafkaProducer
    private let firstFailure = FirstFailure()
    private let reports: Task<Void, Never>

    private final class FirstFailure: Sendable {
        let report = Mutex<DeliveryReport?>(nil)
    }

    init(producer: KafkaProducer) {
        self.producer = producer
        let failure = firstFailure
        let stream = producer.deliveryReports
        reports = Task {
            for await report in stream {
                guard case .failure = report.result else { continue }
                failure.report.withLock { first in if first == nil { first = report } }
            }
        }
    }

    /// Waits until everything sent is acknowledged; throws if any record was not delivered.
    /// Hands records to the producer in order (it waits only while the producer's buffer is
    /// full), stopping at the first that fails to be sent. One call for many
    /// records: this class's async methods run off the calling stream thread's actor, so a call
    /// per record would hop executors twice per record.
    func send(contentsOf records: [ProducerRecord]) async throws {
        for record in records {
            do {
                try await producer.sendAndForget(record)
            } catch {
                throw StreamsError.send(topic: record.topic, underlying: error)
            }
        }
        try checkDeliveries()
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

    private func checkDeliveries() throws {
        if let report = firstFailure.report.withLock({ $0 }), case .failure(let error) = report.result {
            throw StreamsError.send(topic: "\(report.record.topic)-\(report.record.partition.map(String.init) ?? "?")", underlying: error)
        }
    }

    func close() async {
        await producer.close()
        await reports.value
    }
}

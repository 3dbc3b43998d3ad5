import KafkaClient
import KafkaProtocol
import NIOCore
import Synchronization
import Testing

/// The examples of docs/producer.md, run against the embedded broker, so that the guide
/// stays true. Each is the guide's code with the bootstrap address and record counts adapted.
@Suite(.serialized) struct ProducerGuideExamplesTests {
    @Test func sendingARecordAndWaitingForIt() async throws {
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }

        let configuration = try ProducerConfiguration(bootstrap: broker.bootstrap)
        let producer = try await KafkaProducer.make(configuration: configuration)

        let metadata = try await producer.send(ProducerRecord(topic: "orders", key: "order-42", value: #"{"total": 19.99}"#))
        #expect(metadata.topic == "orders" && metadata.offset == 0)

        let record = ProducerRecord(
            topic: "orders", partition: 0,
            key: ByteBuffer(string: "order-42"), value: ByteBuffer(bytes: [0x01, 0x02]),
            headers: [RecordHeader(key: "trace-id", value: ByteBuffer(string: "abc123"))],
            timestamp: 1_700_000_000_000)
        #expect(try await producer.send(record).timestamp == 1_700_000_000_000)
        await producer.close()
    }

    @Test func fireAndForget() async throws {
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }

        var configuration = try ProducerConfiguration(bootstrap: broker.bootstrap)
        configuration.compression = .lz4
        configuration.deliveryReports = .failuresOnly
        let producer = try await KafkaProducer.make(configuration: configuration)

        let failures = Task {
            var count = 0
            for await report in producer.deliveryReports {
                if case .failure(let error) = report.result {
                    print("not delivered: \(report.record.value.map { String(buffer: $0) } ?? "-"): \(error)")
                    count += 1
                }
            }
            return count
        }
        for i in 0..<10_000 {
            try await producer.sendAndForget(ProducerRecord(topic: "clicks", key: "user-\(i % 1000)", value: "click \(i)"))
        }
        try await producer.flush()
        await producer.close()
        #expect(await failures.value == 0)
        #expect(try await broker.records(topic: "clicks").count == 10_000)
    }

    @Test func typedErrors() async throws {
        let broker = try await TestBroker.start { $0.autoCreateTopics = false }
        defer { Task { await broker.shutdown() } }
        let producer = try await KafkaProducer.make(configuration: try ProducerConfiguration(bootstrap: broker.bootstrap))
        var missing: String?
        do {
            _ = try await producer.send(ProducerRecord(topic: "no-such-topic", value: "x"))
        } catch .unknownTopic(let name) {
            missing = name
        } catch {
            Issue.record("not sent: \(error)")
        }
        #expect(missing == "no-such-topic")
        await producer.close()
    }

    final class Tracing: ProducerInterceptor {
        let delivered = Atomic<Int>(0)

        func onSend(_ record: ProducerRecord) -> ProducerRecord {
            var record = record
            record.headers.append(RecordHeader(key: "sent-by", value: ByteBuffer(string: "billing")))
            return record
        }

        func onAcknowledgement(_ metadata: RecordMetadata) {
            delivered.add(1, ordering: .relaxed)
        }

        func onError(_ error: KafkaProducerError, topic: String, partition: Int32?) {
            print("\(topic): \(error)")
        }
    }

    @Test func interceptors() async throws {
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }
        var configuration = try ProducerConfiguration(bootstrap: broker.bootstrap)
        let tracing = Tracing()
        configuration.interceptors = [tracing]
        let producer = try await KafkaProducer.make(configuration: configuration)
        _ = try await producer.send(ProducerRecord(topic: "traced", value: "x"))
        await producer.close()
        #expect(tracing.delivered.load(ordering: .relaxed) == 1)
        #expect(try await broker.records(topic: "traced").first?.headers == [RecordHeader(key: "sent-by", value: ByteBuffer(string: "billing"))])
    }
}

import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Synchronization
import Testing
@testable import KafkaClient

/// The producer against the dev broker in this process; records are read back with Fetch.
@Suite(.serialized) struct ProducerEndToEndTests {
    @Test(arguments: CompressionCodec.allCases)
    func recordsArriveWithTheirFieldsInEveryCodec(codec: CompressionCodec) async throws {
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }
        try await broker.createTopic("codec", partitions: 1)
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap) { $0.compression = codec })
        var sent: [RecordMetadata] = []
        for i in 0..<50 {
            let headers = i % 3 == 0 ? [RecordHeader(key: "n", value: ByteBuffer(string: "\(i)")), RecordHeader(key: "null", value: nil)] : []
            let record = ProducerRecord(topic: "codec", key: i % 5 == 0 ? nil : "key-\(i)", value: i == 7 ? nil : "value-\(i)",
                                        headers: headers, timestamp: 1_700_000_000_000 + Int64(i))
            sent.append(try await producer.send(record))
        }
        await producer.close()
        #expect(sent.map(\.offset) == Array(0..<50))
        #expect(sent.map(\.timestamp) == (0..<50).map { 1_700_000_000_000 + Int64($0) })
        #expect(sent.allSatisfy { $0.topic == "codec" && $0.partition == 0 })
        let stored = try await broker.records(topic: "codec")
        #expect(stored.count == 50)
        for (i, record) in stored.enumerated() {
            #expect(record.offset == Int64(i))
            #expect(record.key?.text == (i % 5 == 0 ? nil : "key-\(i)"))
            #expect(record.value?.text == (i == 7 ? nil : "value-\(i)"))
            #expect(record.timestamp == 1_700_000_000_000 + Int64(i))
            let expected = i % 3 == 0 ? [RecordHeader(key: "n", value: ByteBuffer(string: "\(i)")), RecordHeader(key: "null", value: nil)] : []
            #expect(record.headers == expected)
        }
    }

    @Test func sendAndForgetReportsEveryRecordAndKeepsOrderPerPartition() async throws {
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }
        try await broker.createTopic("forget", partitions: 4)
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap) { $0.compression = .lz4; $0.batchSize = 2048 })
        let reports = Task {
            var collected: [DeliveryReport] = []
            for await report in producer.deliveryReports { collected.append(report) }
            return collected
        }
        let count = 5000
        for i in 0..<count {
            try await producer.sendAndForget(ProducerRecord(topic: "forget", key: "k\(i % 40)", value: "\(i)"))
        }
        try await producer.flush()
        await producer.close()
        let collected = await reports.value
        #expect(collected.count == count)
        var byPartition: [Int32: [Int]] = [:]
        for report in collected {
            let metadata = try report.result.get()
            // The same key always lands in the same partition, the murmur2 one.
            let key = report.record.key!
            #expect(metadata.partition == Int32(Murmur2.hash(key) & 0x7fff_ffff) % 4)
            byPartition[metadata.partition, default: []].append(Int(metadata.offset))
        }
        var total = 0
        for partition in 0..<Int32(4) {
            let stored = try await broker.records(topic: "forget", partition: partition)
            total += stored.count
            // Values were sent in increasing order; per partition they are stored in that order.
            let values = stored.map { Int($0.value!.text)! }
            #expect(zip(values, values.dropFirst()).allSatisfy { $0 < $1 }, "partition \(partition) out of send order")
            #expect(Set(byPartition[partition] ?? []) == Set(stored.map { Int($0.offset) }))
        }
        #expect(total == count)
    }

    @Test func bufferMemoryAppliesBackPressure() async throws {
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }
        try await broker.createTopic("pressure", partitions: 2)
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap) {
            $0.bufferMemory = 64 * 1024
            $0.batchSize = 16 * 1024
            $0.deliveryReports = .none
        })
        let peak = Mutex(0)
        let watcher = Task {
            while !Task.isCancelled {
                let used = producer.bufferedBytes
                peak.withLock { $0 = max($0, used) }
                try? await Task.sleep(for: .microseconds(200))
            }
        }
        let value = ByteBuffer(repeating: 0x7a, count: 1000)
        for i in 0..<2000 {
            try await producer.sendAndForget(ProducerRecord(topic: "pressure", partition: Int32(i % 2), value: value))
        }
        try await producer.flush()
        watcher.cancel()
        await producer.close()
        #expect(peak.withLock { $0 } <= 64 * 1024)
        let stored = try await broker.records(topic: "pressure", partition: 0).count + broker.records(topic: "pressure", partition: 1).count
        #expect(stored == 2000)
    }

    @Test func unknownTopicIsTypedAndProducerStaysUsable() async throws {
        let broker = try await TestBroker.start { $0.autoCreateTopics = false }
        defer { Task { await broker.shutdown() } }
        try await broker.createTopic("exists")
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap))
        await #expect(throws: KafkaProducerError.unknownTopic("missing")) {
            try await producer.send(ProducerRecord(topic: "missing", value: "x"))
        }
        await #expect(throws: KafkaProducerError.unknownPartition(topic: "exists", partition: 3, partitionCount: 1)) {
            try await producer.send(ProducerRecord(topic: "exists", partition: 3, value: "x"))
        }
        #expect(try await producer.send(ProducerRecord(topic: "exists", value: "fine")).offset == 0)
        await producer.close()
    }

    @Test func oversizedRecordsAreTypedAndProducerStaysUsable() async throws {
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }
        try await broker.createTopic("big", configs: ["max.message.bytes": "20000"])
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap) { $0.maxRequestSize = 100_000 })
        // Refused before sending: larger than maxRequestSize.
        let huge = ByteBuffer(repeating: 1, count: 200_000)
        let tooLarge = await #expect(throws: KafkaProducerError.self) {
            try await producer.send(ProducerRecord(topic: "big", value: huge))
        }
        guard case .recordTooLarge(let size, let limit)? = tooLarge else { Issue.record("\(String(describing: tooLarge))"); return }
        #expect(size > 200_000 && limit == 100_000)
        #expect(try await producer.send(ProducerRecord(topic: "big", value: "a")).offset == 0)
        // Refused by the broker: above the topic's max.message.bytes.
        await #expect(throws: KafkaProducerError.messageTooLarge(topic: "big", partition: 0)) {
            try await producer.send(ProducerRecord(topic: "big", value: ByteBuffer(repeating: 2, count: 50_000)))
        }
        // Idempotent sequences continue past the refused batch.
        #expect(try await producer.send(ProducerRecord(topic: "big", value: "b")).offset == 1)
        #expect(try await producer.send(ProducerRecord(topic: "big", value: "c")).offset == 2)
        await producer.close()
        #expect(try await broker.records(topic: "big").map { $0.value!.text } == ["a", "b", "c"])
    }

    @Test func unreachableBrokerIsTypedAndProducerRecoversWhenItAppears() async throws {
        // Reserve a port, then free it: nothing listens there yet.
        let placeholder = try await TestBroker.start()
        let port = placeholder.port
        await placeholder.shutdown()
        let producer = try await KafkaProducer.make(configuration: .testing("127.0.0.1:\(port)") {
            $0.deliveryTimeout = .seconds(2)
            $0.maxBlock = .seconds(2)
        })
        let started = ContinuousClock.now
        let unreachable = await #expect(throws: KafkaProducerError.self) {
            try await producer.send(ProducerRecord(topic: "later", value: "x"))
        }
        guard case .brokerUnreachable? = unreachable else { Issue.record("\(String(describing: unreachable))"); return }
        #expect(ContinuousClock.now - started < .seconds(10))
        let broker = try await TestBroker.start { $0.port = port }
        defer { Task { await broker.shutdown() } }
        let metadata = try await producer.send(ProducerRecord(topic: "later", value: "now"))
        #expect(metadata.offset == 0)
        await producer.close()
    }

    @Test func brokerRestartsMidProduceLoseAndDuplicateNothing() async throws {
        try await produceThroughRestarts(idempotent: true)
    }

    /// Sends while the broker restarts three times; every record must be acknowledged and stored
    /// exactly once, in send order per partition. (Without idempotence, retries of requests the
    /// broker wrote before the connection dropped store duplicates; `idempotent: false` shows it.)
    func produceThroughRestarts(idempotent: Bool) async throws {
        var broker = try await TestBroker.start()
        try await broker.createTopic("restarts", partitions: 3)
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap) {
            $0.batchSize = 1024
            $0.deliveryReports = .all
            $0.client.reconnectBackoffMax = .milliseconds(200)
            $0.enableIdempotence = idempotent
        })
        let reports = Task {
            var acknowledged = 0
            var failed: [KafkaProducerError] = []
            for await report in producer.deliveryReports {
                switch report.result {
                case .success: acknowledged += 1
                case .failure(let error): failed.append(error)
                }
            }
            return (acknowledged, failed)
        }
        let count = 6000
        let progress = Mutex(0)
        let sending = Task {
            for i in 0..<count {
                try await producer.sendAndForget(ProducerRecord(topic: "restarts", key: "k\(i % 30)", value: "\(i)"))
                progress.withLock { $0 = i + 1 }
                if i % 10 == 0 { try await Task.sleep(for: .milliseconds(3)) }
            }
        }
        var sentAtRestart: [Int] = []
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(250))
            sentAtRestart.append(progress.withLock { $0 })
            broker = try await broker.restarted()
        }
        try await sending.value
        // The restarts happened while records were being sent.
        #expect(sentAtRestart.allSatisfy { $0 > 0 && $0 < count }, "\(sentAtRestart)")
        try await producer.flush()
        await producer.close()
        let (acknowledged, failed) = await reports.value
        #expect(failed.isEmpty, "\(failed.prefix(3))")
        #expect(acknowledged == count)
        var values: [Int] = []
        for partition in Int32(0)..<3 {
            let stored = try await broker.records(topic: "restarts", partition: partition).map { Int($0.value!.text)! }
            // Idempotence: no record twice, and each partition in send order.
            let inOrder = zip(stored, stored.dropFirst()).allSatisfy { $0 < $1 }
            #expect(inOrder, "partition \(partition) has \(stored.count) records, duplicated or out of send order")
            values += stored
        }
        #expect(values.count == count)
        #expect(Set(values).count == count)
        await broker.shutdown()
    }

    @Test func interceptorsTransformObserveAndSeeErrors() async throws {
        final class Recorder: ProducerInterceptor, @unchecked Sendable {
            let acknowledged = Mutex<[RecordMetadata]>([])
            let errors = Mutex<[KafkaProducerError]>([])
            func onSend(_ record: ProducerRecord) -> ProducerRecord {
                var record = record
                record.headers.append(RecordHeader(key: "traced", value: ByteBuffer(string: "yes")))
                return record
            }
            func onAcknowledgement(_ metadata: RecordMetadata) { acknowledged.withLock { $0.append(metadata) } }
            func onError(_ error: KafkaProducerError, topic: String, partition: Int32?) { errors.withLock { $0.append(error) } }
        }
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }
        try await broker.createTopic("traced")
        let recorder = Recorder()
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap) {
            $0.interceptors = [recorder]
            $0.maxRequestSize = 10_000
            $0.deliveryReports = .none
        })
        _ = try await producer.send(ProducerRecord(topic: "traced", value: "one"))
        try await producer.sendAndForget(ProducerRecord(topic: "traced", value: "two"))
        _ = try? await producer.send(ProducerRecord(topic: "traced", value: ByteBuffer(repeating: 0, count: 20_000)))
        try await producer.flush()
        await producer.close()
        #expect(recorder.acknowledged.withLock { $0.map(\.offset) } == [0, 1])
        #expect(recorder.errors.withLock { $0.count } == 1)
        let stored = try await broker.records(topic: "traced")
        #expect(stored.map { $0.headers } == Array(repeating: [RecordHeader(key: "traced", value: ByteBuffer(string: "yes"))], count: 2))
    }

    @Test func acksZeroAndOneWithoutIdempotence() async throws {
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }
        try await broker.createTopic("acks")
        for acks in [Acks.none, .leader] {
            let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap) { $0.acks = acks; $0.enableIdempotence = false })
            let metadata = try await producer.send(ProducerRecord(topic: "acks", value: "\(acks)"))
            #expect(metadata.offset == (acks == .none ? -1 : 1))
            await producer.close()
        }
        await #expect(throws: KafkaProducerError.self) {
            try await KafkaProducer.make(configuration: .testing(broker.bootstrap) { $0.acks = .leader })
        }
        #expect(try await broker.records(topic: "acks").map { $0.value!.text } == ["0", "1"])
    }

    @Test func closeFailsNewSends() async throws {
        let broker = try await TestBroker.start()
        defer { Task { await broker.shutdown() } }
        let producer = try await KafkaProducer.make(configuration: .testing(broker.bootstrap))
        _ = try await producer.send(ProducerRecord(topic: "closing", value: "x"))
        await producer.close()
        await #expect(throws: KafkaProducerError.closed) {
            try await producer.send(ProducerRecord(topic: "closing", value: "y"))
        }
    }
}

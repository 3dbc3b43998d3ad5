import KafkaClient
import KafkaProtocol
import NIOCore
import Testing

/// The examples of docs/exactly-once.md, run against the embedded broker, so that the guide
/// stays true. Each is the guide's code with the bootstrap address and loop bounds adapted.
@Suite(.serialized) struct ExactlyOnceGuideExamplesTests {
    @Test func aTransaction() async throws {
        try await withBroker { broker in
            try await broker.createTopic("ledger", partitions: 2)

            var configuration = try ProducerConfiguration(bootstrap: broker.bootstrap)
            configuration.transactionalId = "ledger-writer-1"
            let producer = try await KafkaProducer.make(configuration: configuration)
            try await producer.initTransactions()

            try producer.beginTransaction()
            try await producer.sendAndForget(ProducerRecord(topic: "ledger", key: "account-7", value: "debit 40"))
            try await producer.sendAndForget(ProducerRecord(topic: "ledger", key: "account-9", value: "credit 40"))
            try await producer.commitTransaction()   // both records, or (after a failure) neither

            await producer.close()

            var reader = try testConfiguration(broker)
            reader.isolationLevel = .readCommitted
            let consumer = KafkaConsumer(configuration: reader)
            try await consumer.assign([TopicPartition("ledger", 0), TopicPartition("ledger", 1)])
            let records = try await pollRecords(consumer, count: 2)
            await consumer.close()
            #expect(Set(records.map { String(buffer: $0.value!) }) == ["debit 40", "credit 40"])
        }
    }

    @Test func consumeTransformProduce() async throws {
        try await withBroker { broker in
            try await broker.createTopic("words", partitions: 2)
            try await broker.createTopic("shouted", partitions: 2)
            for partition in Int32(0)...1 {
                try await broker.produce("words", partition: partition, values: (0..<50).map { "word \(partition)-\($0)" })
            }

            var producerConfiguration = try ProducerConfiguration(bootstrap: broker.bootstrap)
            producerConfiguration.transactionalId = "shouter-1"
            let producer = try await KafkaProducer.make(configuration: producerConfiguration)
            try await producer.initTransactions()   // fences an older "shouter-1", aborting what it left open

            var consumerConfiguration = try testConfiguration(broker, group: "shouter")
            consumerConfiguration.enableAutoCommit = false           // offsets are committed in the transaction
            consumerConfiguration.isolationLevel = .readCommitted    // input and committed offsets: committed only
            consumerConfiguration.autoOffsetReset = .earliest
            let consumer = KafkaConsumer(configuration: consumerConfiguration)
            try await consumer.subscribe(topics: ["words"])

            var processed = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while processed < 100, ContinuousClock.now < deadline {
                let records = try await consumer.poll(timeout: .milliseconds(100))
                guard !records.isEmpty, let group = await consumer.groupMetadata() else { continue }
                do throws(KafkaProducerError) {
                    try producer.beginTransaction()
                    var offsets: [TopicPartition: OffsetAndMetadata] = [:]
                    for record in records {
                        let shouted = record.value.map { ByteBuffer(string: String(buffer: $0).uppercased()) }
                        try await producer.sendAndForget(ProducerRecord(topic: "shouted", partition: record.partition, key: record.key, value: shouted))
                        offsets[record.topicPartition] = OffsetAndMetadata(offset: record.offset + 1)
                    }
                    try await producer.sendOffsetsToTransaction(offsets, groupMetadata: group)
                    try await producer.commitTransaction()
                    processed += records.count
                } catch where error.isFatal {
                    // Another instance took over "shouter-1": this one must write nothing more.
                    await consumer.close()
                    await producer.close()
                    throw error
                } catch {
                    // Abortable: nothing of this transaction is visible. Read its records again.
                    try await producer.abortTransaction()
                    for (partition, first) in Dictionary(records.map { ($0.topicPartition, $0.offset) }, uniquingKeysWith: min) {
                        try await consumer.seek(partition, to: first)
                    }
                }
            }
            await consumer.close()
            await producer.close()
            #expect(processed == 100)

            let committed = try await KafkaAdmin(cluster: broker.cluster).committedOffsets(group: "shouter")
            #expect(committed == [TopicPartition("words", 0): 50, TopicPartition("words", 1): 50])
            var reader = try testConfiguration(broker)
            reader.isolationLevel = .readCommitted
            let output = KafkaConsumer(configuration: reader)
            try await output.assign([TopicPartition("shouted", 0), TopicPartition("shouted", 1)])
            let records = try await pollRecords(output, count: 100)
            await output.close()
            for partition in Int32(0)...1 {
                #expect(records.filter { $0.partition == partition }.map { String(buffer: $0.value!) } == (0..<50).map { "WORD \(partition)-\($0)" })
            }
        }
    }
}

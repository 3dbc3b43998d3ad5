import ArgumentParser
import Foundation
import KafkaBroker
import KafkaClient
import KafkaProtocol
import NIOCore
import Logging
import Rivulet

/// `WordCount --demo` (`make demo`): a dev broker in this process, sample lines in, WordCount
/// on KafkaStreams until every word's count has arrived, the counts printed.
enum WordCountDemo {
    static let lines = [
        "all streams lead to kafka",
        "hello kafka streams",
        "join kafka summit",
        "streams of records flow through kafka",
        "a topology of processors and state stores",
        "counts live in a store backed by a changelog topic",
    ]

    static func run() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("rivulet-demo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: data) }
        var brokerConfiguration = BrokerConfiguration(dataDirectory: data + "/broker")
        brokerConfiguration.port = 0
        var quiet = Logger(label: "demo")
        quiet.logLevel = .warning
        let broker = try await EmbeddedBroker.start(brokerConfiguration, logger: quiet)
        print("dev broker on \(broker.bootstrapAddress)")

        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: broker.bootstrapAddress), logger: quiet)
        try await KafkaAdmin(cluster: cluster).createTopics([
            NewTopic(name: "text-lines", partitions: 2), NewTopic(name: "word-counts", partitions: 2),
        ])
        let producer = try await KafkaProducer.make(configuration: try ProducerConfiguration(bootstrap: broker.bootstrapAddress), cluster: cluster, logger: quiet)
        for line in lines { _ = try await producer.send(ProducerRecord(topic: "text-lines", value: line)) }
        await producer.close()
        print("wrote \(lines.count) lines to text-lines")

        var expected: [String: Int64] = [:]
        for line in lines { for word in line.lowercased().unicodeScalars.split(separator: " ") { expected[String(word), default: 0] += 1 } }

        var config = StreamsConfig(applicationId: "wordcount-demo", bootstrapServers: broker.bootstrapAddress)
        config.stateDirectory = data + "/state"
        config.commitInterval = .milliseconds(200)
        let streams = KafkaStreams(try WordCountTopology.build(input: "text-lines", output: "word-counts"), config, logger: quiet)
        try await streams.start()

        var consumerConfiguration = try ConsumerConfiguration(bootstrap: broker.bootstrapAddress)
        consumerConfiguration.autoOffsetReset = .earliest
        let consumer = KafkaConsumer(configuration: consumerConfiguration, logger: quiet)
        try await consumer.assign([TopicPartition("word-counts", 0), TopicPartition("word-counts", 1)])
        var counts: [String: Int64] = [:]
        let deadline = ContinuousClock.now + .seconds(60)
        while counts != expected, ContinuousClock.now < deadline {
            for record in try await consumer.poll(timeout: .milliseconds(500)) {
                guard let key = record.key, var value = record.value, let count = value.readInteger(as: Int64.self) else { continue }
                counts[String(buffer: key)] = count
            }
        }
        await consumer.close()
        await streams.close()
        await cluster.close()
        await broker.shutdown()

        for (word, count) in counts.sorted(by: { $0.key < $1.key }) { print("\(word)\t\(count)") }
        guard counts == expected else {
            print("the counts did not all arrive within 60 s")
            throw ExitCode.failure
        }
        print("\(counts.count) words counted")
    }
}

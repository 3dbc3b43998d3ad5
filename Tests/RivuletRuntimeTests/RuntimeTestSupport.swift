import Foundation
import KafkaBroker
import KafkaClient
import KafkaProtocol
import NIOCore
import Rivulet
import Synchronization
@testable import WordCount

/// A dev broker in this process on a free port, with a throwaway data directory, plus the
/// clients tests use to feed topics and read results independently of the streams runtime.
final class StreamsTestCluster: Sendable {
    private let current: Mutex<EmbeddedBroker>
    private let brokerConfiguration: BrokerConfiguration
    var broker: EmbeddedBroker { current.withLock { $0 } }
    let directory: String
    let cluster: KafkaCluster
    let producer: KafkaProducer

    var bootstrap: String { broker.bootstrapAddress }
    var admin: KafkaAdmin { KafkaAdmin(cluster: cluster) }

    private init(broker: EmbeddedBroker, configuration: BrokerConfiguration, directory: String, cluster: KafkaCluster, producer: KafkaProducer) {
        self.current = Mutex(broker)
        self.brokerConfiguration = configuration
        self.directory = directory
        self.cluster = cluster
        self.producer = producer
    }

    static func start() async throws -> StreamsTestCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rivulet-runtime-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/broker", withIntermediateDirectories: true)
        var configuration = BrokerConfiguration(dataDirectory: directory + "/broker")
        configuration.port = 0
        configuration.groupMinSessionTimeoutMs = 1000
        let broker = try await EmbeddedBroker.start(configuration)
        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: broker.bootstrapAddress))
        var producerConfiguration = try ProducerConfiguration(bootstrap: broker.bootstrapAddress)
        producerConfiguration.linger = .milliseconds(2)
        let producer = try await KafkaProducer.make(configuration: producerConfiguration, cluster: cluster)
        return StreamsTestCluster(broker: broker, configuration: configuration, directory: directory, cluster: cluster, producer: producer)
    }

    /// Stops the broker and starts it again on the same port and data directory, after
    /// `downtime`; `whenDown` runs once the old broker is stopped.
    func restartBroker(downtime: Duration = .zero, whenDown: @Sendable () -> Void = {}) async throws {
        let old = broker
        await old.shutdown()
        whenDown()
        if downtime > .zero { try await Task.sleep(for: downtime) }
        var configuration = brokerConfiguration
        configuration.port = old.port
        for attempt in 0..<50 {
            do {
                let restarted = try await EmbeddedBroker.start(configuration)
                current.withLock { $0 = restarted }
                return
            } catch {
                if attempt == 49 { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func stop() async {
        await producer.close()
        await cluster.close()
        await broker.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Settings for tests: frequent commits, quick group reactions, a state directory of its own.
    func config(_ applicationId: String, stateDirectory: String? = nil) -> StreamsConfig {
        var config = StreamsConfig(applicationId: applicationId, bootstrapServers: bootstrap)
        config.stateDirectory = stateDirectory ?? "\(directory)/state-\(UUID().uuidString)"
        config.commitInterval = .milliseconds(100)
        config.sessionTimeout = .seconds(3)
        config.heartbeatInterval = .milliseconds(200)
        return config
    }

    func createTopic(_ name: String, partitions: Int32) async throws {
        try await admin.createTopics([NewTopic(name: name, partitions: partitions, replicationFactor: 1)])
    }

    /// Writes records (key-less when `key` is nil) and waits until they are acknowledged.
    func produce(_ topic: String, _ records: [(key: String?, value: String)], timestamp: Int64? = nil) async throws {
        for record in records {
            try await producer.sendAndForget(ProducerRecord(
                topic: topic, key: record.key.map { ByteBuffer(string: $0) }, value: ByteBuffer(string: record.value), timestamp: timestamp))
        }
        try await producer.flush()
    }

    /// Every record of a topic, read from the beginning to the end offsets of now.
    func readAll(_ topic: String) async throws -> [ConsumerRecord] {
        let partitions = try await admin.describeTopics([topic])[0].partitions.map { TopicPartition(topic, $0.partition) }
        let ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) })).mapValues(\.offset)
        var configuration = try ConsumerConfiguration(bootstrap: bootstrap)
        configuration.autoOffsetReset = .earliest
        let consumer = KafkaConsumer(configuration: configuration)
        try await consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, StartOffset.beginning) }))
        var records: [ConsumerRecord] = []
        var remaining = Set(partitions.filter { ends[$0, default: 0] > 0 })
        let deadline = ContinuousClock.now + .seconds(30)
        while !remaining.isEmpty, ContinuousClock.now < deadline {
            for record in try await consumer.poll(timeout: .milliseconds(200)) where record.offset < ends[record.topicPartition, default: 0] {
                records.append(record)
            }
            for partition in remaining where try await consumer.position(partition) >= ends[partition, default: 0] {
                remaining.remove(partition)
            }
        }
        await consumer.close()
        return records
    }

    /// The last value per key of a topic of string keys and 64-bit counts.
    func latestCounts(_ topic: String) async throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for record in try await readAll(topic) {
            guard let key = record.key, var value = record.value, let count = value.readInteger(as: Int64.self) else { continue }
            counts[String(buffer: key)] = count
        }
        return counts
    }

    /// The last value per key of a topic of string keys and values.
    func latestStrings(_ topic: String) async throws -> [String: String] {
        var values: [String: String] = [:]
        for record in try await readAll(topic) {
            guard let key = record.key, let value = record.value else { continue }
            values[String(buffer: key)] = String(buffer: value)
        }
        return values
    }

    /// Whether the group has committed, for every partition of `topics`, the end offset.
    func caughtUp(group: String, topics: [String]) async throws -> Bool {
        let committed = try await admin.committedOffsets(group: group)
        for topic in topics {
            let partitions = try await admin.describeTopics([topic])[0].partitions.map { TopicPartition(topic, $0.partition) }
            let ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) }))
            for (partition, end) in ends where end.offset > 0 && committed[partition, default: -1] < end.offset { return false }
        }
        return true
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// The topology of the WordCount sample (and of the streams guide), so these tests run the
/// sample's own code.
func wordCountTopology(input: String = "text-lines", output: String = "word-counts") throws -> Topology {
    try WordCountTopology.build(input: input, output: output)
}

/// Lines made of a small vocabulary, reproducibly, and their word counts computed plainly.
func sampleLines(_ count: Int, seed: Int = 1) -> (lines: [String], counts: [String: Int64]) {
    let vocabulary = ["kafka", "streams", "swift", "topic", "partition", "record", "state", "store", "task", "join", "table", "window"]
    var lines: [String] = []
    var counts: [String: Int64] = [:]
    var x = UInt64(seed)
    for _ in 0..<count {
        var words: [String] = []
        for _ in 0..<(1 + Int(x % 5)) {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            let word = vocabulary[Int((x >> 33) % UInt64(vocabulary.count))]
            words.append(word)
            counts[word, default: 0] += 1
        }
        lines.append(words.joined(separator: " "))
    }
    return (lines, counts)
}

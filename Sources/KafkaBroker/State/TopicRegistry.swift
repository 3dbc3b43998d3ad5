import Foundation
import KafkaProtocol
import NIOCore
import Synchronization

/// A topic: its id, its partitions and its config overrides.
final class Topic: Sendable {
    let name: String
    let id: UUID
    let partitions: [PartitionState]
    /// Configs set at creation (or altered), on top of the broker defaults.
    let overrides: [String: String]
    let config: LogConfig
    /// Internal topics (__consumer_offsets, __transaction_state) are flagged in Metadata.
    var isInternal: Bool { name.hasPrefix("__") }

    init(name: String, id: UUID, partitions: [PartitionState], overrides: [String: String], config: LogConfig) {
        self.name = name
        self.id = id
        self.partitions = partitions
        self.overrides = overrides
        self.config = config
    }
}

/// Why a topic operation failed, as the Kafka error code the client will see.
struct TopicError: Error {
    var code: KafkaErrorCode
    var message: String
}

/// All topics of the broker, persisted as a small JSON catalogue beside the partition logs.
final class TopicRegistry: Sendable {
    private struct CatalogueEntry: Codable {
        var id: UUID
        var partitions: Int32
        var configs: [String: String]
    }

    private let dataDirectory: String
    private let defaults: LogConfig
    private let topics = Mutex<[String: Topic]>([:])
    /// Serialises creations and deletions, which touch the disk and the catalogue together.
    private let catalogueLock = Mutex<Void>(())

    init(dataDirectory: String, defaults: LogConfig, recover: Bool, nowMs: Int64) throws {
        self.dataDirectory = dataDirectory
        self.defaults = defaults
        try POSIXFile.makeDirectory(dataDirectory + "/logs")
        let cataloguePath = dataDirectory + "/topics.json"
        guard FileManager.default.fileExists(atPath: cataloguePath) else { return }
        let data = try Data(contentsOf: URL(fileURLWithPath: cataloguePath))
        let catalogue = try JSONDecoder().decode([String: CatalogueEntry].self, from: data)
        var loaded: [String: Topic] = [:]
        for (name, entry) in catalogue {
            let config = try Self.config(defaults: defaults, overrides: entry.configs)
            var partitions: [PartitionState] = []
            for index in 0..<entry.partitions {
                let log = try PartitionLog(directory: Self.logDirectory(dataDirectory, name, index), config: config, recover: recover, nowMs: nowMs)
                partitions.append(try PartitionState(topic: name, partition: index, log: log))
            }
            loaded[name] = Topic(name: name, id: entry.id, partitions: partitions, overrides: entry.configs, config: config)
        }
        topics.withLock { $0 = loaded }
    }

    static func logDirectory(_ dataDirectory: String, _ topic: String, _ partition: Int32) -> String {
        "\(dataDirectory)/logs/\(topic)-\(partition)"
    }

    static func config(defaults: LogConfig, overrides: [String: String]) throws(LogConfigError) -> LogConfig {
        var config = defaults
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) { try config.set(name, value) }
        return config
    }

    func topic(named name: String) -> Topic? { topics.withLock { $0[name] } }
    func topic(withId id: UUID) -> Topic? { topics.withLock { $0.values.first { $0.id == id } } }
    var all: [Topic] { topics.withLock { Array($0.values) }.sorted { $0.name < $1.name } }

    func partition(_ topic: String, _ partition: Int32) -> PartitionState? {
        guard let t = self.topic(named: topic), partition >= 0, Int(partition) < t.partitions.count else { return nil }
        return t.partitions[Int(partition)]
    }

    /// Kafka's rule for legal topic names.
    static func validate(name: String) throws(TopicError) {
        guard !name.isEmpty, name != ".", name != "..", name.utf8.count <= 249 else {
            throw TopicError(code: .invalidTopic, message: "topic name '\(name)' is empty, '.', '..' or longer than 249 characters")
        }
        for c in name.unicodeScalars where !(("0"..."9").contains(c) || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "." || c == "_" || c == "-") {
            throw TopicError(code: .invalidTopic, message: "topic name '\(name)' has '\(c)': only ASCII letters, digits, '.', '_' and '-' are legal")
        }
    }

    /// Creates a topic. `validateOnly` checks everything without creating.
    @discardableResult
    func create(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String], validateOnly: Bool = false, nowMs: Int64) throws(TopicError) -> Topic? {
        try Self.validate(name: name)
        guard partitions > 0 && partitions <= 10_000 else {
            throw TopicError(code: .invalidPartitions, message: "number of partitions must be between 1 and 10000, got \(partitions)")
        }
        guard replicationFactor == 1 || replicationFactor == -1 else {
            throw TopicError(code: .invalidReplicationFactor, message: "the dev broker has one node: replication factor must be 1, got \(replicationFactor)")
        }
        let config: LogConfig
        do { config = try Self.config(defaults: defaults, overrides: configs) } catch {
            throw TopicError(code: .invalidConfig, message: error.description)
        }
        return try catalogueLock.withLock { _ throws(TopicError) -> Topic? in
            if topic(named: name) != nil {
                throw TopicError(code: .topicAlreadyExists, message: "topic '\(name)' already exists")
            }
            if validateOnly { return nil }
            do {
                var states: [PartitionState] = []
                for index in 0..<partitions {
                    let log = try PartitionLog(directory: Self.logDirectory(dataDirectory, name, index), config: config, recover: false, nowMs: nowMs)
                    states.append(try PartitionState(topic: name, partition: index, log: log))
                }
                let topic = Topic(name: name, id: UUID(), partitions: states, overrides: configs, config: config)
                topics.withLock { $0[name] = topic }
                try saveCatalogue()
                return topic
            } catch {
                throw TopicError(code: .kafkaStorageError, message: "\(error)")
            }
        }
    }

    /// Adds partitions to a topic (CreatePartitions).
    func addPartitions(topic name: String, totalCount: Int32, nowMs: Int64) throws(TopicError) {
        try catalogueLock.withLock { _ throws(TopicError) in
            guard let existing = topic(named: name) else {
                throw TopicError(code: .unknownTopicOrPartition, message: "topic '\(name)' does not exist")
            }
            let current = Int32(existing.partitions.count)
            guard totalCount > current else {
                throw TopicError(code: .invalidPartitions, message: "topic '\(name)' has \(current) partitions; the new count \(totalCount) must be larger")
            }
            do {
                var states = existing.partitions
                for index in current..<totalCount {
                    let log = try PartitionLog(directory: Self.logDirectory(dataDirectory, name, index), config: existing.config, recover: false, nowMs: nowMs)
                    states.append(try PartitionState(topic: name, partition: index, log: log))
                }
                let grown = Topic(name: name, id: existing.id, partitions: states, overrides: existing.overrides, config: existing.config)
                topics.withLock { $0[name] = grown }
                try saveCatalogue()
            } catch {
                throw TopicError(code: .kafkaStorageError, message: "\(error)")
            }
        }
    }

    /// Deletes a topic and its data.
    func delete(name: String) throws(TopicError) {
        try catalogueLock.withLock { _ throws(TopicError) in
            guard let removed = topics.withLock({ $0.removeValue(forKey: name) }) else {
                throw TopicError(code: .unknownTopicOrPartition, message: "topic '\(name)' does not exist")
            }
            do {
                for partition in removed.partitions { try partition.deleteFiles() }
                try saveCatalogue()
            } catch {
                throw TopicError(code: .kafkaStorageError, message: "\(error)")
            }
        }
    }

    private func saveCatalogue() throws {
        let catalogue = topics.withLock { topics in
            topics.mapValues { CatalogueEntry(id: $0.id, partitions: Int32($0.partitions.count), configs: $0.overrides) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(catalogue)
        let path = dataDirectory + "/topics.json"
        try data.write(to: URL(fileURLWithPath: path + ".tmp"))
        try POSIXFile.rename(path + ".tmp", to: path)
    }

    func flushAll() {
        for topic in all { for partition in topic.partitions { try? partition.flush() } }
    }
}

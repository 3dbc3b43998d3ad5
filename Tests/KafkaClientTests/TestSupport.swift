import Foundation
import KafkaBroker
@testable import KafkaClient
import KafkaProtocol
import NIOCore

/// A dev broker in this process on a free port, with its own data directory.
struct TestBroker {
    let broker: EmbeddedBroker
    let configuration: BrokerConfiguration
    var bootstrap: String { broker.bootstrapAddress }
    var port: Int { broker.port }

    static func start(_ configure: (inout BrokerConfiguration) -> Void = { _ in }) async throws -> TestBroker {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rivulet-producer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = BrokerConfiguration(dataDirectory: directory)
        configuration.port = 0
        configure(&configuration)
        return TestBroker(broker: try await EmbeddedBroker.start(configuration), configuration: configuration)
    }

    /// Stops the broker and starts it again on the same port and data directory.
    func restarted() async throws -> TestBroker {
        await broker.shutdown()
        var configuration = self.configuration
        configuration.port = port
        // The port may linger briefly after the listener closes.
        for attempt in 0..<50 {
            do { return TestBroker(broker: try await EmbeddedBroker.start(configuration), configuration: configuration) } catch {
                if attempt == 49 { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        fatalError("unreachable")
    }

    func shutdown() async {
        await broker.shutdown()
        try? FileManager.default.removeItem(atPath: configuration.dataDirectory)
    }

    func createTopic(_ name: String, partitions: Int32 = 1, configs: [String: String] = [:]) async throws {
        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: bootstrap))
        try await KafkaAdmin(cluster: cluster).createTopics([NewTopic(name: name, partitions: partitions, configs: configs)])
        await cluster.close()
    }

    /// Every record of a partition, read back with Fetch (independently of the producer).
    func records(topic: String, partition: Int32 = 0) async throws -> [Record] {
        let connection = try await KafkaConnection.connect(to: try BrokerAddress(parsing: bootstrap))
        defer { Task { await connection.close() } }
        var result: [Record] = []
        var offset: Int64 = 0
        while true {
            let request = FetchRequest(
                replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, isolationLevel: 0,
                topics: [FetchRequest.FetchTopic(topic: topic, partitions: [
                    FetchRequest.FetchPartition(partition: partition, fetchOffset: offset, partitionMaxBytes: 64 << 20),
                ])])
            let response = try await connection.send(request, version: 12)
            guard let data = response.responses.first?.partitions.first else { return result }
            guard data.errorCode == 0 else { throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(data.errorCode), context: "fetch")) }
            var fetched = 0
            if let records = data.records {
                var reader = RecordSetReader(records)
                try reader.forEachRecord { record in
                    if record.offset >= offset {
                        result.append(record)
                        fetched += 1
                    }
                }
            }
            if let last = result.last { offset = last.offset + 1 }
            if fetched == 0 || offset >= data.highWatermark { return result }
        }
    }
}

extension ProducerConfiguration {
    /// Settings for tests: short timeouts so failures show quickly.
    static func testing(_ bootstrap: String, _ configure: (inout ProducerConfiguration) -> Void = { _ in }) throws -> ProducerConfiguration {
        var configuration = try ProducerConfiguration(bootstrap: bootstrap)
        configuration.linger = .milliseconds(2)
        configuration.deliveryTimeout = .seconds(20)
        configuration.client.retryBackoff = .milliseconds(20)
        configuration.retryBackoff = .milliseconds(20)
        configure(&configuration)
        return configuration
    }
}

extension ByteBuffer {
    var text: String { String(buffer: self) }
}

import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// An in-process dev broker on a free port with a throwaway data directory.
final class ConsumerTestBroker: Sendable {
    let broker: EmbeddedBroker
    let directory: String
    let cluster: KafkaCluster

    var bootstrap: String { broker.bootstrapAddress }

    private init(broker: EmbeddedBroker, directory: String, cluster: KafkaCluster) {
        self.broker = broker
        self.directory = directory
        self.cluster = cluster
    }

    static func start() async throws -> ConsumerTestBroker {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rivulet-consumer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = BrokerConfiguration(dataDirectory: directory)
        configuration.port = 0
        configuration.groupMinSessionTimeoutMs = 1000
        let broker = try await EmbeddedBroker.start(configuration)
        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: broker.bootstrapAddress))
        return ConsumerTestBroker(broker: broker, directory: directory, cluster: cluster)
    }

    func stop() async {
        await cluster.close()
        await broker.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func createTopic(_ name: String, partitions: Int32) async throws {
        try await KafkaAdmin(cluster: cluster).createTopics([NewTopic(name: name, partitions: partitions, replicationFactor: 1)])
    }

    /// Appends records to one partition in one batch; returns the base offset.
    @discardableResult
    func produce(_ topic: String, partition: Int32, values: [String], keys: [String?]? = nil, headers: [RecordHeader] = [],
                 compression: CompressionCodec = .none, timestamp: Int64 = 1_700_000_000_000,
                 transactional: (producerId: Int64, epoch: Int16, sequence: Int32)? = nil, transactionalId: String? = nil) async throws -> Int64 {
        var builder = RecordBatchBuilder(compression: compression, producerId: transactional?.producerId ?? -1,
                                         producerEpoch: transactional?.epoch ?? -1, baseSequence: transactional?.sequence ?? -1,
                                         isTransactional: transactional != nil)
        for (index, value) in values.enumerated() {
            let key = keys?[index].map { ByteBuffer(string: $0) }
            try builder.append(timestamp: timestamp + Int64(index), key: key, value: ByteBuffer(string: value), headers: headers)
        }
        let request = ProduceRequest(
            transactionalId: transactionalId, acks: -1, timeoutMs: 10_000,
            topicData: [ProduceRequest.TopicProduceData(name: topic, partitionData: [
                ProduceRequest.PartitionProduceData(index: partition, records: try builder.build())
            ])])
        let leader = try await cluster.leader(for: TopicPartition(topic, partition))
        let response = try await cluster.send(request, toNode: leader)
        let result = try #require(response.responses.first?.partitionResponses.first)
        guard result.errorCode == 0 else {
            throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(result.errorCode), context: "produce to \(topic)-\(partition)"))
        }
        return result.baseOffset
    }

    /// Writes one transaction of `values` to a partition and commits or aborts it.
    func produceTransaction(_ topic: String, partition: Int32, values: [String], commit: Bool, transactionalId: String) async throws {
        let coordinator = try await cluster.coordinator(for: transactionalId, type: .transaction)
        let initResponse = try await cluster.send(InitProducerIdRequest(transactionalId: transactionalId, transactionTimeoutMs: 60_000), toNode: coordinator)
        #expect(initResponse.errorCode == 0)
        let producer = (producerId: initResponse.producerId, epoch: initResponse.producerEpoch, sequence: Int32(0))
        let add = try await cluster.send(AddPartitionsToTxnRequest(
            v3AndBelowTransactionalId: transactionalId, v3AndBelowProducerId: producer.producerId, v3AndBelowProducerEpoch: producer.epoch,
            v3AndBelowTopics: [AddPartitionsToTxnRequest.AddPartitionsToTxnTopic(name: topic, partitions: [partition])]), toNode: coordinator)
        #expect(add.resultsByTopicV3AndBelow.allSatisfy { $0.resultsByPartition.allSatisfy { $0.partitionErrorCode == 0 } })
        try await produce(topic, partition: partition, values: values, transactional: producer, transactionalId: transactionalId)
        let end = try await cluster.send(EndTxnRequest(transactionalId: transactionalId, producerId: producer.producerId,
                                                       producerEpoch: producer.epoch, committed: commit), toNode: coordinator)
        #expect(end.errorCode == 0)
    }
}

/// Runs `body` with a fresh broker, stopping it afterwards whatever happens.
func withBroker(_ body: (ConsumerTestBroker) async throws -> Void) async throws {
    let broker = try await ConsumerTestBroker.start()
    do {
        try await body(broker)
    } catch {
        await broker.stop()
        throw error
    }
    await broker.stop()
}

/// Polls until `count` records arrived or `timeout` passed.
func pollRecords(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(20)) async throws -> [ConsumerRecord] {
    var records: [ConsumerRecord] = []
    let deadline = ContinuousClock.now + timeout
    while records.count < count, ContinuousClock.now < deadline {
        records += try await consumer.poll(timeout: .milliseconds(200))
    }
    return records
}

/// Waits until `condition` holds, checking every 50 ms; false after `timeout`.
func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// Consumer settings for tests: fast heartbeats and short timeouts.
func testConfiguration(_ broker: ConsumerTestBroker, group: String? = nil) throws -> ConsumerConfiguration {
    var configuration = try ConsumerConfiguration(bootstrap: broker.bootstrap, groupId: group)
    configuration.autoOffsetReset = .earliest
    configuration.sessionTimeout = .seconds(6)
    configuration.heartbeatInterval = .milliseconds(200)
    configuration.rebalanceTimeout = .seconds(10)
    configuration.fetchMaxWait = .milliseconds(100)
    return configuration
}

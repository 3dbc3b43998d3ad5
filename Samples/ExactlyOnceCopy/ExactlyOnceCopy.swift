// ExactlyOnceCopy: copies one topic to another, upper-casing every value, exactly once.
//
//   swift run ExactlyOnceCopy --bootstrap 127.0.0.1:9092 --input words --output shouted \
//       --group copier --transactional-id copier-1
//
// Kill it at any moment and start it again with the same --transactional-id: the output holds
// every input record exactly once, in order per partition, for read_committed consumers.
import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore

@main
struct ExactlyOnceCopy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copies a topic to another, upper-casing every value, exactly once (Kafka transactions).")

    @Option(help: "Bootstrap servers, host:port[,host:port...].")
    var bootstrap = "127.0.0.1:9092"
    @Option(help: "The topic to read.")
    var input: String
    @Option(help: "The topic to write; created with the input's partition count if missing.")
    var output: String
    @Option(help: "Consumer group whose committed offsets say where the copy stands.")
    var group: String
    @Option(name: .customLong("transactional-id"), help: "Names this copier across restarts; also its static group member id.")
    var transactionalId: String
    @Option(help: "Commit a transaction at least this often, in milliseconds.")
    var commitIntervalMs = 100
    @Option(help: "Transaction timeout in milliseconds: how long a transaction left open by a crash holds back readers.")
    var transactionTimeoutMs = 10_000
    @Option(help: "Session timeout of the group member, in milliseconds.")
    var sessionTimeoutMs = 10_000
    @Option(help: "Exit after this many milliseconds without input (0: run until stopped).")
    var idleExitMs = 0

    func run() async throws {
        var producerConfiguration = try ProducerConfiguration(bootstrap: bootstrap)
        producerConfiguration.transactionalId = transactionalId
        producerConfiguration.transactionTimeout = .milliseconds(transactionTimeoutMs)
        producerConfiguration.deliveryReports = .none   // failures surface as an abortable commit
        let producer = try await KafkaProducer.make(configuration: producerConfiguration)
        // Fences an earlier incarnation and aborts the transaction it left open.
        try await producer.initTransactions()
        try await createOutput(cluster: producer.cluster)

        var consumerConfiguration = try ConsumerConfiguration(bootstrap: bootstrap, groupId: group)
        consumerConfiguration.enableAutoCommit = false            // offsets are committed in the transaction
        consumerConfiguration.isolationLevel = .readCommitted     // committed offsets too: waits for pending ones
        consumerConfiguration.autoOffsetReset = .earliest
        consumerConfiguration.groupInstanceId = transactionalId   // a restart takes its old place at once
        consumerConfiguration.sessionTimeout = .milliseconds(sessionTimeoutMs)
        let consumer = KafkaConsumer(configuration: consumerConfiguration)

        let loop = CopyLoop(consumer: consumer, producer: producer, outputTopic: output,
                            commitInterval: .milliseconds(commitIntervalMs)) { value in
            value.map { ByteBuffer(string: String(buffer: $0).uppercased()) }
        }
        try await consumer.subscribe(topics: [input], listener: RebalanceListener(
            onRevoked: { _ in
                // Partitions are moving: commit what was read from them before another member takes over.
                do { try await loop.commitNow() } catch { try? await loop.abortNow() }
            },
            onLost: { _ in
                // No longer a member: the group would refuse the offsets. Drop the transaction.
                try? await loop.abortNow()
            }))

        var lastInput = ContinuousClock.now
        while true {
            do {
                let records = try await consumer.poll(timeout: .milliseconds(50))
                if !records.isEmpty { lastInput = .now }
                try await loop.step(records)
                if idleExitMs > 0, ContinuousClock.now - lastInput > .milliseconds(idleExitMs) {
                    try await loop.commitNow()
                    break
                }
            } catch let error as KafkaProducerError where error.isFatal {
                // Another instance with this transactional id took over: this one stops writing.
                FileHandle.standardError.write(Data("fenced, exiting: \(error)\n".utf8))
                await consumer.close()
                await producer.close()
                throw ExitCode(3)
            } catch let error as KafkaProducerError {
                // Abortable: the transaction's records and offsets are dropped; read them again.
                FileHandle.standardError.write(Data("aborting the transaction: \(error)\n".utf8))
                try await loop.abortNow()
            }
        }
        let copied = await loop.committedRecords
        print("copied \(copied) records")
        await consumer.close()
        await producer.close()
    }

    /// Creates the output topic with as many partitions as the input, unless it exists.
    private func createOutput(cluster: KafkaCluster) async throws {
        let partitions = try await cluster.partitions(of: input)
        try await KafkaAdmin(cluster: cluster).createTopics(
            [NewTopic(name: output, partitions: Int32(partitions.count), replicationFactor: 1)], ifNotExists: true)
    }
}

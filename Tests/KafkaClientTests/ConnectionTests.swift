import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// The connection layer against the dev broker: pipelined requests matched to their
/// responses, per-request timeouts, and one shared connection per broker.
@Suite struct ConnectionTests {
    @Test func pipelinedRequestsAreMatchedToTheirOwnResponses() async throws {
        let broker = try await TestBroker.start()
        for i in 0..<8 { try await broker.createTopic("pipe-\(i)", partitions: Int32(i + 1)) }
        let connection = try await KafkaConnection.connect(to: try BrokerAddress(parsing: broker.bootstrap))
        // 200 requests in flight at once on one connection; each answer must be about its own topic.
        let answers = try await withThrowingTaskGroup(of: (String, [String], Int).self) { group in
            for i in 0..<200 {
                let name = "pipe-\(i % 8)"
                group.addTask {
                    let response = try await connection.send(MetadataRequest(
                        topics: [MetadataRequest.MetadataRequestTopic(name: name)], allowAutoTopicCreation: false))
                    return (name, response.topics.compactMap(\.name), response.topics.first?.partitions.count ?? -1)
                }
            }
            var all: [(String, [String], Int)] = []
            for try await answer in group { all.append(answer) }
            return all
        }
        #expect(answers.count == 200)
        for (asked, named, partitions) in answers {
            #expect(named == [asked])
            #expect(partitions == Int(asked.dropFirst(5))! + 1)
        }
        await connection.close()
        await broker.shutdown()
    }

    @Test func aRequestPastItsTimeoutIsATypedErrorAndTheClusterCarriesOn() async throws {
        let broker = try await TestBroker.start()
        try await broker.createTopic("quiet")
        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: broker.bootstrap))
        let leader = try await cluster.leader(for: TopicPartition("quiet", 0))
        let connection = try await cluster.connection(toNode: leader)
        // A long poll on an empty partition: the broker holds it for 2 s, the client waits 300 ms.
        let longPoll = FetchRequest(
            replicaId: -1, maxWaitMs: 2_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
            topics: [FetchRequest.FetchTopic(topic: "quiet", partitions: [
                FetchRequest.FetchPartition(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20),
            ])])
        // The answer only comes after 2 s, so a requestTimedOut error naming the 300 ms shows the
        // client gave up on its own timeout (no wall-clock bound: a busy machine may be slow).
        do {
            _ = try await connection.send(longPoll, timeout: .milliseconds(300))
            Issue.record("a 2 s long poll answered within a 300 ms timeout")
        } catch let error as KafkaClientError {
            guard case .requestTimedOut(_, let api, let timeoutMs) = error else {
                Issue.record("expected requestTimedOut, got \(error)")
                await cluster.close()
                await broker.shutdown()
                return
            }
            #expect(api.contains("Fetch"))
            #expect(timeoutMs == 300)
        }
        // The client goes on: metadata, and a produce through a producer on the same cluster settings.
        #expect(try await cluster.refreshMetadata(topics: ["quiet"]).topics["quiet"]?.partitions.count == 1)
        let producer = try await KafkaProducer.make(configuration: try ProducerConfiguration.testing(broker.bootstrap))
        let metadata = try await producer.send(ProducerRecord(topic: "quiet", value: ByteBuffer(string: "after the timeout")))
        #expect(metadata.offset == 0)
        await producer.close()
        await cluster.close()
        await broker.shutdown()
    }

    @Test func everyUserOfAClusterSharesOneConnectionPerBroker() async throws {
        let broker = try await TestBroker.start()
        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: broker.bootstrap))
        let node = try await cluster.metadata().brokers.keys.first!
        let connections = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<20 { group.addTask { ObjectIdentifier(try await cluster.connection(toNode: node)) } }
            var ids = Set<ObjectIdentifier>()
            for try await id in group { ids.insert(id) }
            return ids
        }
        #expect(connections.count == 1)
        await cluster.close()
        await broker.shutdown()
    }
}

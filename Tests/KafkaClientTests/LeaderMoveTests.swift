import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// A partition's leader moves from node 1 to node 2 of a two-node cluster (two `ClusterNodeFront`s
/// over one dev broker, see `LeaderSchedule`), and the old leader refuses Produce and Fetch with
/// each of the errors that mean "the leader moved". The producer, the consumer and admin's
/// ListOffsets are expected to refresh metadata and carry on at the new leader: every record
/// acknowledged once, in order, and read back in order.
@Suite struct LeaderMoveTests {
    @Test(arguments: [KafkaErrorCode.notLeaderOrFollower, .fencedLeaderEpoch, .unknownLeaderEpoch,
                      .leaderNotAvailable, .unknownTopicOrPartition])
    func producerAndConsumerFollowTheLeaderToItsNewNode(refusal: KafkaErrorCode) async throws {
        let cluster = try await LeaderMoveCluster.start(topic: "moving", producerId: "moving-producer", consumerId: "moving-consumer")
        let (schedule, producer, consumer) = (cluster.schedule, cluster.producer, cluster.consumer)
        let values = (0..<60).map { "record-\($0)" }

        // Node 1 leads: 20 records written and read through it.
        var acknowledged: [String: Int64] = [:]
        for value in values[..<20] {
            acknowledged[value] = try await producer.send(ProducerRecord(topic: "moving", partition: 0, value: value)).offset
        }
        var consumed = try await pollRecords(consumer, count: 20)
        #expect(consumed.count == 20)
        var adminConfiguration = try ClientConfiguration(bootstrap: cluster.bootstrap)
        adminConfiguration.clientId = "moving-admin"
        adminConfiguration.retryBackoff = .milliseconds(20)
        let adminCluster = KafkaCluster(configuration: adminConfiguration)
        let admin = KafkaAdmin(cluster: adminCluster)
        let partition = TopicPartition("moving", 0)
        #expect(try await admin.listOffsets([partition: .latest])[partition]?.offset == 20)

        schedule.moveLeader(to: 2, refusingWith: refusal)

        // The consumer, still fetching from node 1, is refused, refreshes metadata and fetches from node 2.
        #expect(try await eventually(timeout: .seconds(10)) {
            consumed += try await consumer.poll(timeout: .milliseconds(50))
            return schedule.events.contains { $0.node == 2 && $0.clientId == "moving-consumer" && $0.apiKey == .fetch && $0.outcome == .forwarded }
        }, "the consumer never fetched from the new leader")

        // 40 more records, queued together: the first batch goes to node 1, which refuses it.
        for value in values[20...] {
            try await producer.sendAndForget(ProducerRecord(topic: "moving", partition: 0, value: value))
        }
        try await producer.flush()
        var reports = producer.deliveryReports.makeAsyncIterator()
        for _ in 20..<60 {
            let report = try #require(await reports.next())
            let value = try #require(report.record.value).text
            switch report.result {
            case .success(let metadata):
                #expect(acknowledged[value] == nil, "\(value) acknowledged twice")
                acknowledged[value] = metadata.offset
            case .failure(let error):
                Issue.record("\(value) not delivered: \(error)")
            }
        }
        consumed += try await pollRecords(consumer, count: 60 - consumed.count)

        // Every record acknowledged at the offset of its place in the sequence: none lost, none twice, in order.
        #expect(values.map { acknowledged[$0] } == (0..<60).map { Int64($0) })
        // The log, read from the broker directly, holds exactly the sequence.
        let log = try await cluster.broker.records(topic: "moving")
        #expect(log.map { $0.value.map { String(buffer: $0) } } == values)
        #expect(log.map(\.offset) == (0..<60).map { Int64($0) })
        // The consumer read the same sequence, across the move.
        #expect(consumed.map { $0.value.map { String(buffer: $0) } } == values)
        #expect(consumed.map(\.offset) == (0..<60).map { Int64($0) })
        // Admin, whose metadata still names node 1, asks again at node 2.
        #expect(try await admin.listOffsets([partition: .latest])[partition]?.offset == 60)

        // Each client was refused by node 1, then asked for metadata, which named node 2, and went there.
        let afterMove = schedule.events.filter { $0.moves == 1 }
        for (client, api) in [("moving-producer", KafkaApiKey.produce), ("moving-consumer", .fetch), ("moving-admin", .listOffsets)] {
            let events = afterMove.filter { $0.clientId == client }
            let refused = events.firstIndex { $0.node == 1 && $0.apiKey == api && $0.outcome == .refused(refusal) }
            let refreshed = events.firstIndex { $0.apiKey == .metadata && $0.outcome == .metadata(leader: 2) }
            let moved = events.firstIndex { $0.node == 2 && $0.apiKey == api && $0.outcome == .forwarded }
            #expect(refused != nil, "\(client) was never refused by the old leader")
            #expect(refreshed != nil, "\(client) did not refresh metadata after the move")
            #expect(moved != nil, "\(client) never reached the new leader")
            if let refused, let refreshed, let moved {
                #expect(refused < refreshed && refreshed < moved, "\(client): refused at \(refused), refreshed at \(refreshed), moved at \(moved)")
            }
            #expect(!events.contains { $0.node == 1 && $0.apiKey == api && $0.outcome == .forwarded })
        }

        await adminCluster.close()
        await cluster.shutdown()
    }
}

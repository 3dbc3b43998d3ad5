import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// Leader epochs (KIP-320) on the two-node cluster of `LeaderMoveCluster.swift`: the consumer
/// sends the leader epoch metadata named with each Fetch and ListOffsets, so a leader with another
/// epoch refuses it, and a Metadata answer naming an older epoch than the client knows does not
/// take it back to the old leader.
@Suite struct LeaderEpochTests {
    @Test func fetchesCarryTheLeaderEpochAndAFencedFetchIsRetriedAtTheSameOffset() async throws {
        let cluster = try await LeaderMoveCluster.start(topic: "epochs", producerId: "epochs-producer", consumerId: "epoch-consumer")
        let schedule = cluster.schedule
        let values = (0..<30).map { "record-\($0)" }
        try await cluster.produce(values[..<10])
        var consumed = try await pollRecords(cluster.consumer, count: 10)

        // Node 1 leads at epoch 0: the offset lookup and the fetches say so.
        let before = schedule.events.filter { $0.clientId == "epoch-consumer" }
        #expect(before.contains { $0.apiKey == .listOffsets && $0.outcome == .forwarded && $0.leaderEpochs == [0] })
        let fetchesBefore = before.filter { $0.apiKey == .fetch }
        #expect(!fetchesBefore.isEmpty)
        #expect(fetchesBefore.allSatisfy { $0.node == 1 && $0.outcome == .forwarded && $0.leaderEpochs == [0] },
                "fetches before the move: \(fetchesBefore.map { ($0.node, $0.outcome, $0.leaderEpochs) })")

        // Node 2 takes over at epoch 1; the consumer follows with epoch 1.
        schedule.moveLeader(to: 2, refusingWith: .notLeaderOrFollower)
        #expect(try await eventually(timeout: .seconds(10)) {
            consumed += try await cluster.consumer.poll(timeout: .milliseconds(50))
            return schedule.events.contains { $0.node == 2 && $0.clientId == "epoch-consumer" && $0.apiKey == .fetch && $0.outcome == .forwarded }
        }, "the consumer never fetched from the new leader")
        try await cluster.produce(values[10..<20])
        consumed += try await pollRecords(cluster.consumer, count: 20 - consumed.count)
        let atNode2 = schedule.events.filter { $0.clientId == "epoch-consumer" && $0.apiKey == .fetch && $0.node == 2 }
        #expect(atNode2.allSatisfy { $0.outcome == .forwarded && $0.leaderEpochs == [1] },
                "fetches at node 2: \(atNode2.map { ($0.outcome, $0.leaderEpochs) })")

        // Node 2 is elected again, at epoch 2: it fences the consumer's next fetch (epoch 1), the
        // consumer refreshes metadata and fetches again with epoch 2, from the same position.
        schedule.moveLeader(to: 2, refusingWith: .notLeaderOrFollower)
        try await cluster.produce(values[20...])
        consumed += try await pollRecords(cluster.consumer, count: 30 - consumed.count)
        #expect(consumed.map { $0.value.map { String(buffer: $0) } } == values)
        #expect(consumed.map(\.offset) == (0..<30).map { Int64($0) })

        let afterElection = schedule.events.filter { $0.moves == 2 && $0.clientId == "epoch-consumer" }
        let fenced = afterElection.firstIndex { $0.node == 2 && $0.apiKey == .fetch && $0.outcome == .refused(.fencedLeaderEpoch) && $0.leaderEpochs == [1] }
        let refreshed = afterElection.firstIndex { $0.apiKey == .metadata && $0.outcome == .metadata(leader: 2) && $0.leaderEpochs == [2] }
        let retried = afterElection.firstIndex { $0.node == 2 && $0.apiKey == .fetch && $0.outcome == .forwarded && $0.leaderEpochs == [2] }
        #expect(fenced != nil, "the leader never fenced a fetch with the old epoch: \(afterElection.map { ($0.apiKey, $0.outcome, $0.leaderEpochs) })")
        #expect(refreshed != nil, "no metadata refresh named epoch 2")
        #expect(retried != nil, "no fetch with epoch 2")
        if let fenced, let refreshed, let retried {
            #expect(fenced < refreshed && refreshed < retried, "fenced at \(fenced), refreshed at \(refreshed), retried at \(retried)")
        }
        await cluster.shutdown()
    }

    @Test func aStaleMetadataAnswerDoesNotTakeTheConsumerBackToTheOldLeader() async throws {
        let cluster = try await LeaderMoveCluster.start(topic: "epochs", producerId: "epochs-producer", consumerId: "stale-consumer")
        let schedule = cluster.schedule
        let values = (0..<20).map { "record-\($0)" }
        try await cluster.produce(values[..<10])
        var consumed = try await pollRecords(cluster.consumer, count: 10)

        schedule.moveLeader(to: 2, refusingWith: .notLeaderOrFollower)
        #expect(try await eventually(timeout: .seconds(10)) {
            consumed += try await cluster.consumer.poll(timeout: .milliseconds(50))
            return schedule.events.contains { $0.node == 2 && $0.clientId == "stale-consumer" && $0.apiKey == .fetch && $0.outcome == .forwarded }
        }, "the consumer never fetched from the new leader")

        // The consumer's next metadata answer comes from a broker that has not seen the move:
        // node 1 leading at epoch 0, older than the epoch 1 the consumer knows.
        // The refresh is the one any retriable fetch error starts.
        schedule.serveStaleMetadata(toClient: "stale-consumer")
        await cluster.consumer.refreshMetadataInBackground()
        #expect(await eventually(timeout: .seconds(10)) {
            schedule.events.contains { $0.clientId == "stale-consumer" && $0.outcome == .staleMetadata(leader: 1) }
        }, "the stale answer was never served")
        let staleAt = try #require(schedule.events.firstIndex { $0.clientId == "stale-consumer" && $0.outcome == .staleMetadata(leader: 1) })

        try await cluster.produce(values[10...])
        consumed += try await pollRecords(cluster.consumer, count: 20 - consumed.count)
        #expect(consumed.map { $0.value.map { String(buffer: $0) } } == values)
        #expect(consumed.map(\.offset) == (0..<20).map { Int64($0) })

        // After the stale answer the consumer kept fetching from node 2, at epoch 1, and never went back to node 1.
        let afterStale = schedule.events[(staleAt + 1)...].filter { $0.clientId == "stale-consumer" && $0.apiKey == .fetch }
        #expect(!afterStale.isEmpty)
        #expect(afterStale.allSatisfy { $0.node == 2 && $0.outcome == .forwarded && $0.leaderEpochs == [1] },
                "fetches after the stale answer: \(afterStale.map { ($0.node, $0.outcome, $0.leaderEpochs) })")
        let snapshot = await cluster.consumer.metadataSnapshot
        #expect(snapshot.leader(for: TopicPartition("epochs", 0)) == 2)
        #expect(snapshot.leaderEpoch(for: TopicPartition("epochs", 0)) == 1)
        await cluster.shutdown()
    }
}

private extension LeaderMoveCluster {
    func produce(_ values: ArraySlice<String>) async throws {
        for value in values { _ = try await producer.send(ProducerRecord(topic: topic, partition: 0, value: value)) }
    }
}

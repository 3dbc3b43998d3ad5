import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore
@testable import Rivulet
import Synchronization
import Testing

/// How a stream thread closes its tasks when a commit fails: dirty, with every store released.
@Suite(.serialized) struct StreamThreadCloseTests {
    struct FlushFailure: Error {}

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    final class DiscardingCollector: RecordCollector {
        var offsets: [TopicPartition: Int64] { [:] }
        func send(topic: String, partition: Int32?, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) throws {}
        func partitionCount(of topic: String) -> Int32? { nil }
        func flush() throws {}
    }

    /// A count whose cached results fail downstream when the cache is flushed, that is at the
    /// first commit; `processed` counts the input records seen.
    private func failingAtCommit(_ processed: Counter) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("input", Consumed.with(.string, .string))
            .peek { _, _ in processed.value.withLock { $0 += 1 } }
            .groupByKey()
            .count(Materialized.as("counts"))
            .toStream()
            .mapValues { (count: Int64?) -> Int64? in
                if (count ?? 0) > 0 { throw FlushFailure() }
                return count
            }
            .to("output", Produced.with(.string, .int64))
        return try builder.build()
    }

    @Test func aCommitFailingAtShutdownStillClosesEveryTaskAndReleasesItsStore() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("input", partitions: 1)
        try await kafka.createTopic("output", partitions: 1)
        let processed = Counter()
        let topology = try failingAtCommit(processed)
        var config = kafka.config("commit-fails-at-shutdown")
        // Only the commit at shutdown flushes the cache.
        config.commitInterval = .seconds(3_600)
        let streams = KafkaStreams(topology, config)
        try await streams.start()
        try await kafka.produce("input", [(key: "a", value: "1")])
        #expect(try await eventually { processed.value.withLock { $0 } == 1 })
        await streams.close()
        #expect(streams.localThreadsMetadata().allSatisfy { $0.state == .dead })
        // Nothing was committed: the output never made it.
        #expect(try await kafka.admin.committedOffsets(group: "commit-fails-at-shutdown").isEmpty)
        // RocksDB locks its directory while open: opening the task's store again fails if it leaked.
        let task = try StreamTask(id: TaskId(subtopology: 0, partition: 0), topology: topology, config: config,
                                  collector: DiscardingCollector(), recordCache: nil, wallClockTime: 0)
        try task.close()
    }

    /// A thread busy in a processor outlives `close(timeout:)`: until it ends, the application
    /// is still shutting down and its state directory must not be deleted.
    @Test func closeReportsPendingShutdownWhileAThreadStillRuns() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("input", partitions: 1)
        try await kafka.createTopic("output", partitions: 1)
        let entered = Counter()
        let builder = StreamsBuilder()
        builder.stream("input", Consumed.with(.string, .string))
            .mapValues { value -> String in
                entered.value.withLock { $0 += 1 }
                usleep(2_000_000)
                return value
            }
            .to("output", Produced.with(.string, .string))
        let streams = KafkaStreams(try builder.build(), kafka.config("slow-close"))
        try await streams.start()
        try await kafka.produce("input", [(key: "a", value: "1")])
        #expect(try await eventually { entered.value.withLock { $0 } == 1 })
        await streams.close(timeout: .milliseconds(100))
        #expect(streams.localThreadsMetadata().contains { $0.state != .dead })
        #expect(streams.state == .pendingShutdown)
        #expect(throws: StreamsError.self) { try streams.cleanUp() }
        #expect(try await eventually { streams.state == .notRunning })
        #expect(streams.localThreadsMetadata().allSatisfy { $0.state == .dead })
        try streams.cleanUp()
    }

    /// The group leader runs another version of the application, whose task also reads "y":
    /// this member is assigned a partition no task of its own reads. Its records would be
    /// fetched and dropped; the member stops with an error naming the partition instead.
    @Test func anAssignedPartitionNoLocalTaskReadsIsAnError() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        for topic in ["x", "y", "out"] { try await kafka.createTopic(topic, partitions: 2) }
        let leaderBuilder = StreamsBuilder()
        leaderBuilder.stream(["x", "y"], Consumed.with(.string, .string)).to("out", Produced.with(.string, .string))
        let memberBuilder = StreamsBuilder()
        memberBuilder.stream("x", Consumed.with(.string, .string)).to("out", Produced.with(.string, .string))
        let leader = KafkaStreams(try leaderBuilder.build(), kafka.config("mixed-versions"))
        try await leader.start()
        #expect(try await eventually { leader.state == .running })
        let member = KafkaStreams(try memberBuilder.build(), kafka.config("mixed-versions"))
        try await member.start()
        #expect(try await eventually { member.state == .error })
        guard case .assignment(let message)? = member.failure as? StreamsError else {
            Issue.record("expected an assignment failure, got \(String(describing: member.failure))")
            return
        }
        #expect(message.contains("y-"))
        await member.close()
        await leader.close()
    }
}

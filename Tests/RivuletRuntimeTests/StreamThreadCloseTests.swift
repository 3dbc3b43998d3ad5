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
        // The processor blocks its thread (as a synchronous call to another service would)
        // until the test lets it go, however slowly the machine runs.
        let released = Mutex(false)
        let builder = StreamsBuilder()
        builder.stream("input", Consumed.with(.string, .string))
            .mapValues { value -> String in
                entered.value.withLock { $0 += 1 }
                while !released.withLock({ $0 }) { usleep(1_000) }
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
        released.withLock { $0 = true }
        #expect(try await eventually { streams.state == .notRunning })
        #expect(streams.localThreadsMetadata().allSatisfy { $0.state == .dead })
        try streams.cleanUp()
    }

    /// A processor that blocks its thread does not hold up the rest of the process: stream
    /// threads run on threads of their own, not on Swift's cooperative pool (as wide as the
    /// machine has cores), so more blocked processors than cores still leave timers, the
    /// network and other applications running.
    @Test func processorsBlockingMoreThreadsThanCoresStallNothingElse() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        let blocking = ProcessInfo.processInfo.activeProcessorCount + 1
        try await kafka.createTopic("input", partitions: Int32(blocking))
        try await kafka.createTopic("output", partitions: Int32(blocking))
        try await kafka.createTopic("other-input", partitions: 1)
        try await kafka.createTopic("other-output", partitions: 1)
        let entered = Counter()
        let released = Mutex(false)
        // Should the blocked processors stall the whole process, this test would hang: a timer
        // on a dispatch queue (threads of their own) lets them go after a while, and says so.
        let watchdogFired = Mutex(false)
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) {
            released.withLock { released in
                if !released { watchdogFired.withLock { $0 = true } }
                released = true
            }
        }
        let builder = StreamsBuilder()
        builder.stream("input", Consumed.with(.string, .string))
            .peek { _, _ in
                entered.value.withLock { $0 += 1 }
                while !released.withLock({ $0 }) { usleep(1_000) }
            }
            .to("output", Produced.with(.string, .string))
        var config = kafka.config("blocked")
        config.numStreamThreads = blocking
        let blocked = KafkaStreams(try builder.build(), config)
        try await blocked.start()
        #expect(try await eventually { blocked.state == .running })
        // Keys enough for every partition; a task per partition and per thread: every thread blocks.
        try await kafka.produce("input", (0..<100).map { (key: "k\($0)", value: "v") })
        #expect(try await eventually { entered.value.withLock { $0 } == blocking })

        let copy = StreamsBuilder()
        copy.stream("other-input", Consumed.with(.string, .string)).to("other-output", Produced.with(.string, .string))
        let other = KafkaStreams(try copy.build(), kafka.config("unblocked"))
        try await other.start()
        try await kafka.produce("other-input", [(key: "x", value: "through")])
        #expect(try await eventually { try await kafka.latestStrings("other-output") == ["x": "through"] })
        await other.close()
        released.withLock { $0 = true }
        #expect(!watchdogFired.withLock { $0 }, "the other application ran only once the blocked processors were let go")
        await blocked.close()
        #expect(blocked.state == .notRunning)
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

import Foundation
import KafkaClient
import KafkaProtocol
import Rivulet
import Synchronization
import Testing

/// How a stream thread meets a changelog that changes beneath a restore.
@Suite(.serialized) struct StreamThreadRestorationTests {
    private final class Flag: Sendable {
        let value = Mutex(false)
    }

    /// Records the store needs are deleted after the checkpoint was found valid, just as the
    /// restore starts: the task alone is wiped and restored from the log start, and the
    /// application runs on instead of stopping.
    @Test func recordsDeletedBeneathARestoreRestoreTheTaskFromScratch() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("text-lines", partitions: 1)
        try await kafka.createTopic("word-counts", partitions: 1)
        let stateDirectory = "\(kafka.directory)/state"
        let batch = sampleLines(200, seed: 3)
        try await kafka.produce("text-lines", batch.lines.map { (key: nil, value: $0) })
        let first = KafkaStreams(try wordCountTopology(), kafka.config("deleted-app", stateDirectory: stateDirectory))
        try await first.start()
        #expect(try await eventually { try await kafka.latestCounts("word-counts") == batch.counts })
        await first.close()

        // Rewind the checkpoint 5 offsets, as after a crash between two commits.
        let changelog = TopicPartition("deleted-app-counts-changelog", 0)
        let end = try #require(try await kafka.admin.listOffsets([changelog: .latest])[changelog]?.offset)
        #expect(end > 5)
        let checkpointPath = "\(stateDirectory)/deleted-app/1_0/.checkpoint"
        var lines = try String(contentsOfFile: checkpointPath, encoding: .utf8).split(separator: "\n").map(String.init)
        var fields = lines[2].split(separator: " ").map(String.init)
        #expect(fields[2] == String(end))
        fields[2] = String(end - 5)
        lines[2] = fields.joined(separator: " ")
        try (lines.joined(separator: "\n") + "\n").write(toFile: checkpointPath, atomically: true, encoding: .utf8)

        let starts = Mutex<[Int64]>([])
        let deleted = Flag()
        let second = KafkaStreams(try wordCountTopology(), kafka.config("deleted-app", stateDirectory: stateDirectory))
        second.setGlobalStateRestoreListener(StateRestoreListener(onRestoreStart: { partition, start, _ in
            guard partition == changelog else { return }
            let isFirst = starts.withLock { $0.append(start); return $0.count == 1 }
            guard isFirst else { return }
            // The checkpoint was checked already: delete what it needs before the restore reads it.
            Task {
                _ = try await kafka.admin.deleteRecords(before: [changelog: end])
                deleted.value.withLock { $0 = true }
            }
            for _ in 0..<100 where !deleted.value.withLock({ $0 }) { usleep(50_000) }
        }))
        try await second.start()
        #expect(try await eventually { second.state == .running })
        #expect(second.failure == nil)
        #expect(deleted.value.withLock { $0 })
        #expect(starts.withLock { $0 } == [end - 5, 0])
        // The application goes on processing.
        try await kafka.produce("text-lines", [(key: nil, value: "afterwards")])
        #expect(try await eventually { try await kafka.latestCounts("word-counts")["afterwards"] == 1 })
        await second.close()
    }

    /// Restoration goes a step at a time between polls: a thread asked to stop while a long
    /// restore runs stops within a step, leaving the restore unfinished, instead of holding
    /// the group (and `close()`) until every record is restored.
    @Test func aLongRestoreGivesWayToAStopRequest() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("text-lines", partitions: 1)
        try await kafka.createTopic("word-counts", partitions: 1)
        let changelog = TopicPartition("long-restore-counts-changelog", 0)
        try await kafka.admin.createTopics([NewTopic(name: changelog.topic, partitions: 1, replicationFactor: 1,
                                                     configs: ["cleanup.policy": "compact"])])
        try await kafka.produce(changelog.topic, (0..<200_000).map { (key: "word-\($0)", value: "00000001") })
        let started = Flag(), ended = Flag()
        let streams = KafkaStreams(try wordCountTopology(), kafka.config("long-restore"))
        streams.setGlobalStateRestoreListener(StateRestoreListener(
            onRestoreStart: { partition, _, _ in if partition == changelog { started.value.withLock { $0 = true } } },
            onRestoreEnd: { partition, _ in if partition == changelog { ended.value.withLock { $0 = true } } }))
        try await streams.start()
        #expect(try await eventually { started.value.withLock { $0 } })
        await streams.close()
        #expect(streams.state == .notRunning)
        #expect(!ended.value.withLock { $0 })
    }
}

import KafkaClient
import KafkaProtocol
import Logging

/// Fills the stores of newly assigned tasks from their changelog topics before they process:
/// a consumer outside the group reads each changelog partition from the task's checkpoint (or
/// the beginning) up to the end offset it had when restoration began.
final class ChangelogRestorer: Sendable {
    private let consumer: KafkaConsumer
    private let admin: KafkaAdmin
    private let logger: Logger
    private let listener: StateRestoreListener?

    init(consumer: KafkaConsumer, admin: KafkaAdmin, listener: StateRestoreListener?, logger: Logger) {
        self.consumer = consumer
        self.admin = admin
        self.listener = listener
        self.logger = logger
    }

    /// The changelog partitions whose checkpoint lies past their end (the topic was deleted and
    /// recreated, say): their stores no longer match the changelog and must be wiped.
    func invalidCheckpoints(_ starts: [TopicPartition: Int64?]) async throws -> Set<TopicPartition> {
        let checkpointed = starts.compactMapValues { $0 }
        guard !checkpointed.isEmpty else { return [] }
        let ends = try await admin.listOffsets(checkpointed.mapValues { _ in .latest })
        return Set(checkpointed.filter { partition, offset in offset > (ends[partition]?.offset ?? 0) }.keys)
    }

    /// Reads each changelog partition from its start offset (`nil`: the beginning) to its end
    /// offset now, handing records to `apply`. Returns the number of records restored.
    func restore(
        _ starts: [TopicPartition: Int64?],
        isolation: isolated (any Actor)? = #isolation,
        apply: (TopicPartition, [ChangelogRecord]) throws -> Void
    ) async throws -> Int {
        guard !starts.isEmpty else { return 0 }
        let ends = try await admin.listOffsets(starts.mapValues { _ in .latest }).mapValues(\.offset)
        var remaining: Set<TopicPartition> = []
        var assignment: [TopicPartition: StartOffset] = [:]
        for (partition, start) in starts {
            let end = ends[partition] ?? 0
            if let start, start >= end { continue }
            guard end > 0 else { continue }
            remaining.insert(partition)
            assignment[partition] = start.map { .offset($0) } ?? .beginning
            listener?.onRestoreStart?(partition, start ?? 0, end)
        }
        guard !remaining.isEmpty else { return 0 }
        logger.info("restoring \(remaining.sorted()) up to \(ends.filter { remaining.contains($0.key) }.sorted { $0.key < $1.key })")
        try await consumer.assign(assignment)
        var restored = 0
        var restoredPerPartition: [TopicPartition: Int] = [:]
        do {
            while !remaining.isEmpty {
                let records = try await consumer.poll(timeout: .milliseconds(200))
                var batches: [TopicPartition: [ChangelogRecord]] = [:]
                for record in records {
                    guard let key = record.key, record.offset < (ends[record.topicPartition] ?? 0) else { continue }
                    batches[record.topicPartition, default: []].append(
                        ChangelogRecord(key: key, value: record.value, timestamp: record.timestamp, offset: record.offset))
                }
                for (partition, batch) in batches {
                    try apply(partition, batch)
                    restored += batch.count
                    restoredPerPartition[partition, default: 0] += batch.count
                }
                for partition in remaining where try await consumer.position(partition) >= ends[partition] ?? 0 {
                    remaining.remove(partition)
                    listener?.onRestoreEnd?(partition, restoredPerPartition[partition, default: 0])
                }
            }
        } catch {
            try? await consumer.assign([TopicPartition: StartOffset]())
            throw error
        }
        try await consumer.assign([TopicPartition: StartOffset]())
        return restored
    }
}

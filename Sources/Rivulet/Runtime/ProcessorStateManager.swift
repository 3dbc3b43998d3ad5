import KafkaProtocol
import Logging

/// A task's stores: registers them with their changelog partitions, restores them from changelog
/// records, flushes them in order, and keeps the checkpoint file.
public final class ProcessorStateManager {
    struct Entry {
        let definition: StoreDefinition
        let built: BuiltStore
        let changelog: TopicPartition?
    }

    public let taskId: TaskId
    public let taskDirectory: String
    private var entries: [Entry] = []
    private var byChangelog: [TopicPartition: Int] = [:]
    /// Next offset to restore from, per changelog partition: read from the checkpoint, then
    /// advanced by restoration and by the task's own changelog writes.
    private var offsets: [TopicPartition: Int64] = [:]
    private let checkpoint: OffsetCheckpoint

    init(taskId: TaskId, taskDirectory: String) throws {
        self.taskId = taskId
        self.taskDirectory = taskDirectory
        self.checkpoint = OffsetCheckpoint(taskDirectory: taskDirectory)
        self.offsets = try checkpoint.read()
    }

    func register(_ definition: StoreDefinition, built: BuiltStore, changelog: TopicPartition?) {
        if let changelog { byChangelog[changelog] = entries.count }
        entries.append(Entry(definition: definition, built: built, changelog: changelog))
    }

    var stores: [any StateStore] { entries.map(\.built.store) }

    /// Changelog partitions of the task's logged stores, with the offset to restore each from:
    /// the checkpointed one for a persistent store, `nil` (the beginning) otherwise.
    public var restoreStartOffsets: [TopicPartition: Int64?] {
        var result: [TopicPartition: Int64?] = [:]
        for entry in entries {
            guard let changelog = entry.changelog else { continue }
            result[changelog] = entry.definition.persistent ? offsets[changelog] : nil
        }
        return result
    }

    /// Writes changelog records into their store, below caching and logging.
    public func restore(_ changelog: TopicPartition, records: [ChangelogRecord]) throws {
        guard let index = byChangelog[changelog] else {
            throw StreamsError.unknownPartition(topic: changelog.topic, partition: changelog.partition)
        }
        guard let last = records.last else { return }
        try entries[index].built.restore(records)
        offsets[changelog] = last.offset + 1
    }

    /// Flushes every store, in the order they were registered (upstream stores first).
    func flush() throws {
        for entry in entries { try entry.built.store.flush() }
    }

    /// Records what the task wrote to its changelogs (the collector's acknowledged offsets), so
    /// the checkpoint covers it.
    func updateChangelogOffsets(_ written: [TopicPartition: Int64]) {
        for (partition, offset) in written where byChangelog[partition] != nil {
            offsets[partition] = max(offsets[partition] ?? 0, offset + 1)
        }
    }

    /// Writes the checkpoint of persistent, logged stores.
    func writeCheckpoint() throws {
        guard entries.contains(where: { $0.definition.persistent && $0.changelog != nil }) else { return }
        var persisted: [TopicPartition: Int64] = [:]
        for entry in entries where entry.definition.persistent {
            if let changelog = entry.changelog, let offset = offsets[changelog] { persisted[changelog] = offset }
        }
        try checkpoint.write(persisted)
    }

    func close() throws {
        var firstError: (any Error)?
        for entry in entries {
            do { try entry.built.store.close() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }
}

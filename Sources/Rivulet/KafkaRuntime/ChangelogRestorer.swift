import KafkaClient
import KafkaProtocol
import Logging
import Synchronization

/// Fills the stores of newly assigned tasks from their changelog topics before they process:
/// a consumer outside the group reads each changelog partition from the task's checkpoint (or
/// the log start) up to the end offset it had when restoration began.
///
/// A partition is done when the consumer's position reaches that end offset. The position moves
/// past whole batches (to a batch's last offset + 1), so batches whose tail records compaction
/// removed, and transaction markers, which are never returned as records, still end a restore.
/// When a partition stops moving, its offsets are read again: a log truncated or recreated
/// beneath the restore, or records deleted past the position, end it with a
/// ``ChangelogRestorationError``, since the store then holds what the changelog no longer has;
/// anything else (a broker out of reach, say) is waited for up to `stallTimeout`, then reported
/// the same way instead of waiting for ever.
final class ChangelogRestorer: Sendable {
    /// How long a partition may go without progress before restoring fails (Kafka Streams'
    /// `task.timeout.ms` default).
    static let defaultStallTimeout: Duration = .seconds(300)
    /// How long a partition goes without progress before its offsets are read again.
    static let defaultProgressCheckInterval: Duration = .seconds(2)

    private let consumer: KafkaConsumer
    private let admin: KafkaAdmin
    private let logger: Logger
    private let listener: StateRestoreListener?
    private let stallTimeout: Duration
    private let progressCheckInterval: Duration

    init(
        consumer: KafkaConsumer, admin: KafkaAdmin, listener: StateRestoreListener?, logger: Logger,
        stallTimeout: Duration = ChangelogRestorer.defaultStallTimeout,
        progressCheckInterval: Duration = ChangelogRestorer.defaultProgressCheckInterval
    ) {
        self.consumer = consumer
        self.admin = admin
        self.listener = listener
        self.logger = logger
        self.stallTimeout = stallTimeout
        self.progressCheckInterval = min(progressCheckInterval, stallTimeout)
    }

    /// The changelog partitions whose checkpoint the changelog no longer continues: past its end
    /// (the topic was deleted and recreated, say) or below its log start (records were deleted
    /// by DeleteRecords or retention before they were restored). Their stores no longer match
    /// the changelog and must be wiped, then restored from the log start.
    func invalidCheckpoints(_ starts: [TopicPartition: Int64?]) async throws -> Set<TopicPartition> {
        let checkpointed = starts.compactMapValues { $0 }
        guard !checkpointed.isEmpty else { return [] }
        let ends = try await admin.listOffsets(checkpointed.mapValues { _ in .latest })
        let logStarts = try await admin.listOffsets(checkpointed.mapValues { _ in .earliest })
        var invalid: Set<TopicPartition> = []
        for (partition, offset) in checkpointed {
            let end = ends[partition]?.offset ?? 0
            let logStart = logStarts[partition]?.offset ?? 0
            if offset > end {
                logger.warning("checkpoint \(offset) of \(partition) is past the changelog's end \(end)")
                invalid.insert(partition)
            } else if offset < logStart {
                logger.warning("checkpoint \(offset) of \(partition) is below the changelog's log start \(logStart): records it needs were deleted")
                invalid.insert(partition)
            }
        }
        return invalid
    }

    /// What the restore knows of one changelog partition.
    private struct Progress {
        /// The end offset captured at the start: the partition is restored when the position reaches it.
        let end: Int64
        /// Whether the store held state before (a checkpoint), so losing records beneath the
        /// position would leave it inconsistent even before anything is applied.
        let fromCheckpoint: Bool
        /// The consumer's position when last seen; nil until known.
        var position: Int64?
        var restored = 0
        var lastProgress: ContinuousClock.Instant
        var lastOffsetCheck: ContinuousClock.Instant
        var logStart: Int64?
    }

    /// A restore in progress: the partitions not done yet, and the records applied so far.
    private struct Session {
        var progress: [TopicPartition: Progress]
        var restored = 0
    }
    private let session = Mutex<Session?>(nil)

    /// Reads each changelog partition from its start offset (`nil`: the log start) to its end
    /// offset now, handing records to `apply`. Returns the number of records restored.
    ///
    /// - Throws: ``ChangelogRestorationError`` when a partition's log changed beneath the
    ///   restore or it made no progress for `stallTimeout`; the consumer's own errors (a corrupt
    ///   record, say); whatever `apply` throws.
    func restore(
        _ starts: [TopicPartition: Int64?],
        isolation: isolated (any Actor)? = #isolation,
        apply: (TopicPartition, [ChangelogRecord]) throws -> Void
    ) async throws -> Int {
        guard try await begin(starts) else { return 0 }
        while true {
            if let restored = try await step(budget: .seconds(3_600), apply: apply) { return restored }
        }
    }

    /// Starts restoring each changelog partition from its start offset (`nil`: the log start)
    /// to its end offset now; ``step(budget:apply:)`` then does the work a bit at a time.
    /// Returns `false` when there is nothing to restore. A restore in progress is abandoned.
    func begin(_ starts: [TopicPartition: Int64?], isolation: isolated (any Actor)? = #isolation) async throws -> Bool {
        await abort()
        guard !starts.isEmpty else { return false }
        let ends = try await admin.listOffsets(starts.mapValues { _ in .latest }).mapValues(\.offset)
        let now = ContinuousClock.now
        var progress: [TopicPartition: Progress] = [:]
        var assignment: [TopicPartition: StartOffset] = [:]
        for (partition, start) in starts {
            let end = ends[partition] ?? 0
            if let start, start >= end { continue }
            guard end > 0 else { continue }
            progress[partition] = Progress(end: end, fromCheckpoint: start != nil, position: start,
                                           lastProgress: now, lastOffsetCheck: now)
            assignment[partition] = start.map { .offset($0) } ?? .beginning
            listener?.onRestoreStart?(partition, start ?? 0, end)
        }
        guard !progress.isEmpty else { return false }
        logger.info("restoring \(progress.keys.sorted()) up to \(progress.mapValues(\.end).sorted { $0.key < $1.key })")
        try await consumer.assign(assignment)
        session.withLock { $0 = Session(progress: progress) }
        return true
    }

    /// Restores for about `budget` (at least one poll), so the caller can do other work
    /// between steps. Returns the number of records restored once every partition is done,
    /// `nil` while some are not; without a restore in progress, 0.
    ///
    /// - Throws: what ``restore(_:apply:)`` throws; the restore is then abandoned.
    func step(
        budget: Duration,
        isolation: isolated (any Actor)? = #isolation,
        apply: (TopicPartition, [ChangelogRecord]) throws -> Void
    ) async throws -> Int? {
        guard var current = session.withLock({ $0.take() }) else { return 0 }
        let deadline = ContinuousClock.now + budget
        do {
            repeat {
                try await poll(&current, apply: apply)
            } while !current.progress.isEmpty && ContinuousClock.now < deadline
        } catch {
            try? await consumer.assign([TopicPartition: StartOffset]())
            throw error
        }
        guard current.progress.isEmpty else {
            session.withLock { $0 = current }
            return nil
        }
        try await consumer.assign([TopicPartition: StartOffset]())
        return current.restored
    }

    /// Abandons a restore in progress (what was applied stays applied).
    func abort(isolation: isolated (any Actor)? = #isolation) async {
        guard session.withLock({ $0.take() }) != nil else { return }
        try? await consumer.assign([TopicPartition: StartOffset]())
    }

    /// One poll of the restore: applies what it returned and looks at every partition's position.
    private func poll(
        _ current: inout Session,
        isolation: isolated (any Actor)? = #isolation,
        apply: (TopicPartition, [ChangelogRecord]) throws -> Void
    ) async throws {
        let records: [ConsumerRecord]
        do {
            records = try await pollToleratingOutages()
        } catch let KafkaConsumerError.offsetOutOfRange(partition, offset) where current.progress[partition] != nil {
            // A restore consumer without an offset reset policy says so itself.
            try await outOfRange(partition, at: offset, current.progress[partition]!)
            return
        }
        var batches: [TopicPartition: [ChangelogRecord]] = [:]
        for record in records {
            guard let end = current.progress[record.topicPartition]?.end, let key = record.key, record.offset < end else { continue }
            batches[record.topicPartition, default: []].append(
                ChangelogRecord(key: key, value: record.value, timestamp: record.timestamp, offset: record.offset))
        }
        for (partition, batch) in batches {
            try apply(partition, batch)
            current.restored += batch.count
            current.progress[partition]?.restored += batch.count
        }
        for partition in current.progress.keys.sorted() {
            guard var state = current.progress[partition] else { continue }
            if try await observe(partition, &state) {
                current.progress[partition] = nil
                listener?.onRestoreEnd?(partition, state.restored)
            } else {
                current.progress[partition] = state
            }
        }
    }

    /// One poll; an unreachable broker yields no records (the stall check decides how long that may last).
    private func pollToleratingOutages() async throws -> [ConsumerRecord] {
        do {
            return try await consumer.poll(timeout: .milliseconds(200))
        } catch let error as KafkaClientError where StreamThread.isTransient(error) {
            logger.debug("restore consumer poll failed: \(error)")
            try await Task.sleep(for: .milliseconds(200))
            return []
        }
    }

    /// Looks at the partition's position after a poll; returns whether it reached its end.
    private func observe(_ partition: TopicPartition, _ state: inout Progress) async throws -> Bool {
        let now = ContinuousClock.now
        let position: Int64?
        do {
            position = try await consumer.position(partition)
        } catch let KafkaConsumerError.offsetOutOfRange(_, offset) {
            try await outOfRange(partition, at: offset, state)
            state.lastProgress = now
            return false
        } catch let error as KafkaClientError where StreamThread.isTransient(error) {
            // The reset lookup could not reach the broker; the stall check below bounds the wait.
            logger.debug("position of \(partition) unknown: \(error)")
            position = nil
        }
        if let position {
            if let last = state.position, position < last {
                // Only an out-of-range reset moves the position back: the log is shorter than
                // what was read from it.
                let end = (try? await admin.listOffsets([partition: .latest])[partition]?.offset) ?? position
                throw ChangelogRestorationError.truncated(partition: partition, position: last, endOffset: end)
            }
            if let last = state.position, position > last {
                // The position may jump over a compacted gap; jumping over the log start means
                // the fetch at `last` was out of range and records the store needs are gone.
                if let logStart = await consumer.watermarks(partition)?.logStartOffset, logStart > last,
                   state.fromCheckpoint || state.restored > 0 {
                    throw ChangelogRestorationError.recordsDeleted(partition: partition, position: last, logStartOffset: logStart)
                }
            }
            if state.position != position {
                state.position = position
                state.lastProgress = now
            }
            if position >= state.end { return true }
        }
        guard now - state.lastProgress >= progressCheckInterval, now - state.lastOffsetCheck >= progressCheckInterval else {
            return false
        }
        state.lastOffsetCheck = now
        try await recheckOffsets(partition, &state)
        if now - state.lastProgress >= stallTimeout {
            throw ChangelogRestorationError.stalled(
                partition: partition, position: state.position ?? -1, endOffset: state.end,
                logStartOffset: state.logStart, waited: now - state.lastProgress)
        }
        return false
    }

    /// A fetch at `offset` was out of range (a consumer without a reset policy reports it rather
    /// than jumping): a store restored from scratch that has nothing yet starts again at the log
    /// start; any other store no longer matches the changelog.
    private func outOfRange(_ partition: TopicPartition, at offset: Int64, _ state: Progress) async throws {
        let end = try await admin.listOffsets([partition: .latest])[partition]?.offset
        let logStart = try await admin.listOffsets([partition: .earliest])[partition]?.offset
        if let end, end < state.end || offset > end {
            throw ChangelogRestorationError.truncated(partition: partition, position: offset, endOffset: end)
        }
        guard let logStart, offset < logStart else {
            throw ChangelogRestorationError.truncated(partition: partition, position: offset, endOffset: end ?? -1)
        }
        guard state.fromCheckpoint || state.restored > 0 else {
            logger.info("restoring \(partition): offset \(offset) is below the log start \(logStart), starting there")
            try await consumer.seekToBeginning([partition])
            return
        }
        throw ChangelogRestorationError.recordsDeleted(partition: partition, position: offset, logStartOffset: logStart)
    }

    /// Reads the offsets of a partition that stopped moving again, and throws when they show the
    /// log changed beneath the restore. Offsets that cannot be read now (the broker is out of
    /// reach) are left to the next check.
    private func recheckOffsets(_ partition: TopicPartition, _ state: inout Progress) async throws {
        let end: Int64, logStart: Int64
        do {
            guard let latest = try await admin.listOffsets([partition: .latest])[partition]?.offset,
                  let earliest = try await admin.listOffsets([partition: .earliest])[partition]?.offset else {
                logger.info("restoring \(partition): its offsets are not available, position \(state.position ?? -1) of \(state.end)")
                return
            }
            (end, logStart) = (latest, earliest)
        } catch {
            logger.info("restoring \(partition): reading its offsets failed (\(error)), position \(state.position ?? -1) of \(state.end)")
            return
        }
        state.logStart = logStart
        if end < state.end {
            throw ChangelogRestorationError.truncated(partition: partition, position: state.position ?? -1, endOffset: end)
        }
        if let position = state.position, logStart > position, state.fromCheckpoint || state.restored > 0 {
            throw ChangelogRestorationError.recordsDeleted(partition: partition, position: position, logStartOffset: logStart)
        }
        logger.info("restoring \(partition): no progress at position \(state.position ?? -1), end \(state.end), log \(logStart)..<\(end)")
    }
}

import Logging
import NIOPosix
import Synchronization

/// Runs compaction passes in the background, one partition at a time, on a thread of its own so
/// that a long pass never occupies the threads serving requests.
///
/// Woken by housekeeping (every tick) and whenever an append rolls a segment; each wake-up
/// checks every compacted partition's dirty ratio, which costs a lock and a sum of sizes.
final class LogCleanerService: Sendable {
    private let topics: TopicRegistry
    private let logger: Logger
    private let pool: NIOThreadPool
    private let wakeups: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let stopping = Atomic<Bool>(false)

    init(topics: TopicRegistry, logger: Logger) {
        self.topics = topics
        self.logger = logger
        self.pool = NIOThreadPool(numberOfThreads: 1)
        // Started here, not in run(): a stop() racing a run() that has not begun yet would
        // otherwise shut the pool down while its thread is still registering itself.
        self.pool.start()
        (wakeups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Asks for a check of every compacted partition; wake-ups while a check runs coalesce into one.
    func wake() {
        continuation.yield()
    }

    /// Serves wake-ups until `stop()`.
    func run() async {
        for await _ in wakeups {
            guard !isStopping else { break }
            for topic in topics.all where topic.config.cleanupPolicy != .delete {
                for partition in topic.partitions where partition.cleaningDue(nowMs: BrokerCore.nowMs()) {
                    await clean(partition)
                    if isStopping { break }
                }
            }
        }
    }

    private func clean(_ partition: PartitionState) async {
        do {
            let summary = try await pool.runIfActive {
                try partition.clean(nowMs: BrokerCore.nowMs(), shouldStop: { self.isStopping })
            }
            if let summary {
                logger.debug("compacted \(partition.topic)-\(partition.partition): \(summary.recordsRemoved) records removed, \(summary.recordsKept) kept, \(summary.segmentsBefore) → \(summary.segmentsAfter) segments")
            }
        } catch LogCleanerError.stopped {
            return
        } catch {
            logger.warning("compaction of \(partition.topic)-\(partition.partition) failed: \(error)")
        }
    }

    /// Interrupts a running pass (its output is discarded) and ends `run()`.
    func stop() async {
        stopping.store(true, ordering: .relaxed)
        continuation.finish()
        try? await pool.shutdownGracefully()
    }
}

import KafkaProtocol

/// Everything the consumer tracks about one partition it holds.
///
/// Two offsets move independently: `position`, the next offset the application gets (what
/// commits and lag use), and `fetchOffset`, where the next fetch starts, ahead of `position` by
/// whatever is buffered. Every seek or reset bumps `epoch`; a fetch or offset lookup that
/// started under an older epoch is discarded when it completes.
struct AssignedPartition {
    enum Status: Equatable {
        /// Start from the group's committed offset, else the reset policy.
        case awaitingCommitted
        /// Look the offset up with ListOffsets.
        case awaitingReset(OffsetResetStrategy)
        /// `position` is valid.
        case ready
        /// Blocked until the application seeks; the error was reported from `poll`.
        case failed
    }

    /// One fetch's worth of records waiting for the application.
    struct Chunk {
        var records: [ConsumerRecord]
        var next = 0
        /// The position once every record of the chunk has been handed out.
        var nextFetchOffset: Int64
        var bytes: Int
        var remaining: Int { records.count - next }
    }

    var status: Status
    var position: Int64 = -1
    /// Leader epoch of the last record handed out, committed with the position.
    var positionLeaderEpoch: Int32?
    var fetchOffset: Int64 = -1
    var epoch = 0
    var paused = false
    /// Set while a revocation callback runs: nothing more is fetched or handed out.
    var revoking = false
    /// No fetch before this instant (after an error).
    var retryAt: ContinuousClock.Instant?
    var chunks: [Chunk] = []
    var bufferedBytes = 0
    /// Records fetched and not yet handed out (what `minBufferedRecords` is compared with).
    var bufferedRecords = 0
    var watermarks: PartitionWatermarks?

    init(status: Status) {
        self.status = status
    }

    /// Moves to `offset`, dropping buffered data and invalidating anything in flight.
    /// Returns the bytes released from the buffer.
    mutating func seek(to offset: Int64, leaderEpoch: Int32? = nil) -> Int {
        let released = discardBuffer()
        position = offset
        positionLeaderEpoch = leaderEpoch
        fetchOffset = offset
        status = .ready
        retryAt = nil
        return released
    }

    /// Asks for a new position (committed offset or reset), dropping buffered data.
    mutating func requestPosition(_ status: Status) -> Int {
        let released = discardBuffer()
        self.status = status
        retryAt = nil
        return released
    }

    mutating func discardBuffer() -> Int {
        epoch += 1
        let released = bufferedBytes
        chunks.removeAll()
        bufferedBytes = 0
        bufferedRecords = 0
        return released
    }

    var hasDeliverableRecords: Bool { !paused && !revoking && status == .ready && !chunks.isEmpty }

    /// Records between the position and the end a reader at this isolation level can reach.
    func lag(readCommitted: Bool) -> Int64? {
        guard status == .ready, let watermarks else { return nil }
        let end = readCommitted && watermarks.lastStableOffset >= 0 ? watermarks.lastStableOffset : watermarks.highWatermark
        return max(0, end - position)
    }
}

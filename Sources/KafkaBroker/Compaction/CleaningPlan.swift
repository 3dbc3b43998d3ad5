/// What one compaction pass of a partition works on, taken under the partition's lock so that
/// the pass itself can run without it.
///
/// The segments listed are closed (immutable) and each comes with a descriptor of its own, so
/// the cleaner keeps reading them even if retention deletes their files meanwhile; such a pass
/// is then thrown away when it tries to swap its output in.
struct CleaningPlan: Sendable {
    struct Segment: Sendable {
        var baseOffset: Int64
        /// The next segment's base offset: every offset of this segment lies below it.
        var endOffset: Int64
        var size: Int
        var file: POSIXFile
    }

    var directory: String
    /// Closed segments wholly below the first unstable offset, oldest first, starting with the log's first.
    var segments: [Segment]
    /// Offsets below this were compacted by an earlier pass: their keys are unique among themselves.
    var firstDirtyOffset: Int64
    /// Transactions whose records compaction removes (they were aborted).
    var aborted: [AbortedTransaction]
    /// Base offsets of each producer's newest batch: kept, emptied if need be, so that a restart
    /// still finds the producer's epoch and last sequence.
    var retainedBatchOffsets: Set<Int64>
    var deleteRetentionMs: Int64
    var segmentBytes: Int
    var indexIntervalBytes: Int
    var nowMs: Int64
    /// How many distinct keys one pass may hold in memory; past it the pass ends early and the
    /// rest of the dirty segments wait for the next one.
    var maxKeys: Int
}

/// The output of a compaction pass, written beside the live segments as `.cleaned` files.
struct CleanedLog: Sendable {
    /// A run of old segments replaced by one cleaned segment named after the first of them.
    struct Group: Sendable, Equatable {
        var baseOffset: Int64
        var replaced: [Int64]
    }

    /// Groups whose cleaned files exist and must be swapped in. Groups the pass left
    /// unchanged are not listed (their files were removed).
    var groups: [Group]
    /// The new first dirty offset: everything below is compacted.
    var cleanedThrough: Int64
    /// When the earliest tombstone kept becomes removable, if any was kept.
    var nextTombstoneExpiryMs: Int64?
    var recordsRemoved: Int
    var recordsKept: Int
}

/// What a finished compaction pass did, for tests and logs.
struct CleaningSummary: Sendable, Equatable {
    var cleanedThrough: Int64
    var segmentsBefore: Int
    var segmentsAfter: Int
    var recordsRemoved: Int
    var recordsKept: Int
    /// False when the log changed under the pass (retention, DeleteRecords) and its output was discarded.
    var swapped: Bool
}

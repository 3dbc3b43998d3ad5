import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaBroker

/// Compaction of `cleanup.policy=compact` logs, judged against what the test wrote.
@Suite struct LogCompactionTests {
    static let t0: Int64 = 1_700_000_000_000

    /// Writes `rounds` values for each of `keys` keys, in batches of up to `batchSize`, across many segments.
    static func fill(_ log: TestLog, keys: Int, rounds: Int, batchSize: Int = 3, compression: CompressionCodec = .none,
                     startTimestamp: Int64 = t0) throws -> WrittenLog {
        var written = WrittenLog()
        var pending: [(key: String?, value: String?, timestamp: Int64)] = []
        var timestamp = startTimestamp
        for round in 0..<rounds {
            for key in 0..<keys {
                // Keys in a shuffled but deterministic order, so batches mix keys.
                let k = (key * 7 + round) % keys
                pending.append(("key-\(k)", "value-\(k)-round-\(round)-" + String(repeating: "x", count: k % 13), timestamp))
                timestamp += 1
                if pending.count == batchSize {
                    written.add(try log.append(pending, compression: compression), pending)
                    pending.removeAll()
                }
            }
        }
        if !pending.isEmpty { written.add(try log.append(pending, compression: compression), pending) }
        return written
    }

    /// Records below `cleanedThrough` must be exactly the newest of each key there; records above untouched.
    static func expectCompacted(_ stored: [StoredRecord], _ written: WrittenLog, cleanedThrough: Int64) {
        let latest = written.latestOffsets(below: cleanedThrough)
        let expectedClean = Set(latest.values)
        let expectedDirty = Set(written.records.keys.filter { $0 >= cleanedThrough })
        let storedOffsets = stored.filter { !$0.isControl }.map(\.offset)
        #expect(storedOffsets == storedOffsets.sorted(), "offsets out of order")
        #expect(Set(storedOffsets) == expectedClean.union(expectedDirty))
        for record in stored where !record.isControl {
            // Each survivor still sits at the offset it was written at, with its own key and value.
            let original = written.records[record.offset]
            #expect(original?.key == record.key && original?.value == record.value, "offset \(record.offset) holds \(record)")
        }
    }

    @Test(arguments: [CompressionCodec.none, .lz4, .zstd])
    func keepsTheNewestRecordOfEveryKey(compression: CompressionCodec) throws {
        let log = try TestLog()
        let written = try Self.fill(log, keys: 20, rounds: 12, compression: compression)
        let endBefore = log.state.logEndOffset
        #expect(log.segmentFiles.count > 5, "the test needs several closed segments")
        #expect(try log.readAll().count == 240)

        let summary = try #require(try log.state.clean(nowMs: Self.t0 + 10_000))
        #expect(summary.swapped)
        #expect(summary.cleanedThrough > 0)
        #expect(summary.recordsRemoved > 150)
        let stored = try log.readAll()
        Self.expectCompacted(stored, written, cleanedThrough: summary.cleanedThrough)
        #expect(log.state.logEndOffset == endBefore)
        // The first pass groups by the segments' old sizes; the next one merges the small cleaned segments.
        let cleanedSegments = log.segmentFiles.count
        try #require(try log.state.clean(nowMs: Self.t0 + 10_000, force: true) != nil)
        #expect(log.segmentFiles.count < cleanedSegments, "small cleaned segments are merged")
        #expect(try log.readAll() == stored)
        // Old values are gone: no key appears twice below the cleaned offset.
        let cleanKeys = stored.filter { $0.offset < summary.cleanedThrough }.map { $0.key! }
        #expect(cleanKeys.count == Set(cleanKeys).count)
        #expect(!log.allFiles.contains { $0.hasSuffix(".cleaned") || $0 == "cleaner-swap" })
    }

    @Test func aRestartReadsTheCleanedLog() throws {
        let log = try TestLog()
        let written = try Self.fill(log, keys: 15, rounds: 10, compression: .snappy)
        let summary = try #require(try log.state.clean(nowMs: Self.t0 + 10_000))
        let cleaned = try log.readAll()
        for recover in [false, true] {
            try log.reopen(recover: recover)
            #expect(try log.readAll() == cleaned)
        }
        Self.expectCompacted(cleaned, written, cleanedThrough: summary.cleanedThrough)
        // The reopened log takes new records at the old end and can be cleaned again.
        let end = log.state.logEndOffset
        let more = try log.append([("key-1", "after-restart", Self.t0 + 50_000)])
        #expect(more == [end])
        #expect(try log.state.clean(nowMs: Self.t0 + 60_000, force: true) != nil)
        #expect(try log.readAll().last?.value == "after-restart")
    }

    @Test func seeksIntoARemovedRangeLandOnTheNextSurvivor() throws {
        let log = try TestLog()
        let written = try Self.fill(log, keys: 10, rounds: 10)
        let summary = try #require(try log.state.clean(nowMs: Self.t0 + 10_000))
        let survivors = Set(try log.readAll().map(\.offset))
        let removed = try #require(written.records.keys.sorted().first { !survivors.contains($0) && $0 < summary.cleanedThrough })
        let next = try #require(survivors.sorted().first { $0 > removed })
        #expect(try log.readAll(from: removed).first?.offset == next)
    }

    @Test func tombstonesOutliveTheirKeysUntilDeleteRetention() throws {
        let log = try TestLog { $0.deleteRetentionMs = 60_000 }
        var written = WrittenLog()
        let t = Self.t0
        let first: [(key: String?, value: String?, timestamp: Int64)] = [("doomed", "v1", t), ("kept", "k1", t)]
        written.add(try log.append(first), first)
        let tombstone: [(key: String?, value: String?, timestamp: Int64)] = [("doomed", nil, t + 1)]
        let tombstoneOffset = try log.append(tombstone)[0]
        written.add([tombstoneOffset], tombstone)
        // Filler under other keys rolls the tombstone's segment closed.
        for i in 0..<40 {
            let filler: [(key: String?, value: String?, timestamp: Int64)] = [("filler-\(i)", String(repeating: "f", count: 60), t + 2)]
            written.add(try log.append(filler), filler)
        }

        // Within delete.retention.ms: the value is gone, the tombstone is still there for consumers to see.
        try #require(try log.state.clean(nowMs: t + 1_000) != nil)
        var stored = try log.readAll()
        #expect(!stored.contains { $0.key == "doomed" && $0.value != nil })
        #expect(stored.contains { $0.offset == tombstoneOffset && $0.key == "doomed" && $0.value == nil })
        #expect(stored.contains { $0.key == "kept" && $0.value == "k1" })

        // Nothing new is dirty, but the expired tombstone makes a pass due, which removes it.
        #expect(!log.state.cleaningDue(nowMs: t + 30_000))
        #expect(log.state.cleaningDue(nowMs: t + 61_001))
        try #require(try log.state.clean(nowMs: t + 61_001) != nil)
        stored = try log.readAll()
        #expect(!stored.contains { $0.key == "doomed" })
        #expect(stored.contains { $0.key == "kept" && $0.value == "k1" })
        try log.reopen()
        #expect(try log.readAll() == stored)
    }

    @Test func passesLimitedByTheKeyBudgetConvergeToTheSameLog() throws {
        let log = try TestLog()
        let written = try Self.fill(log, keys: 12, rounds: 8)
        var passes = 0
        var cleanedThrough: Int64 = 0
        while let summary = try log.state.clean(nowMs: Self.t0 + 10_000, maxKeys: 3, force: true), summary.cleanedThrough > cleanedThrough {
            cleanedThrough = summary.cleanedThrough
            passes += 1
            Self.expectCompacted(try log.readAll(), written, cleanedThrough: cleanedThrough)
        }
        #expect(passes > 2, "a three-key budget should need several passes")
        Self.expectCompacted(try log.readAll(), written, cleanedThrough: cleanedThrough)
    }

    @Test func dirtyRatioDecidesWhenAPassIsDue() throws {
        let log = try TestLog { $0.minCleanableDirtyRatio = 0.5 }
        #expect(!log.state.cleaningDue(nowMs: Self.t0))
        _ = try Self.fill(log, keys: 10, rounds: 6)
        #expect(log.state.cleaningDue(nowMs: Self.t0), "everything closed is dirty")
        try #require(try log.state.clean(nowMs: Self.t0) != nil)
        #expect(!log.state.cleaningDue(nowMs: Self.t0), "just cleaned")
        #expect(try log.state.clean(nowMs: Self.t0) == nil)

        // A delete-policy log is never due.
        let plain = try TestLog { $0.cleanupPolicy = .delete }
        _ = try Self.fill(plain, keys: 10, rounds: 6)
        #expect(!plain.state.cleaningDue(nowMs: Self.t0))
        #expect(try plain.state.clean(nowMs: Self.t0, force: true) == nil)
    }

    @Test func aCompactedTopicRefusesRecordsWithoutAKey() throws {
        let log = try TestLog()
        #expect {
            try log.append([("k", "v", Self.t0), (nil, "no key", Self.t0)])
        } throws: { error in
            (error as? AppendError)?.code == .invalidRecord
        }
        #expect(log.state.logEndOffset == 0)
    }
}

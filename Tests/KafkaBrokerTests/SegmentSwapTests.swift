import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaBroker

/// The cleaner's swap: atomic across crashes, and abandoned when the log changed under a pass.
@Suite struct SegmentSwapTests {
    static let t0: Int64 = 1_700_000_000_000

    /// A log with closed segments and a plan and output for one pass, not yet swapped in. The
    /// `TestLog` owns the directory: keep it alive while using the rest.
    static func preparedPass() throws -> (TestLog, PartitionLog, CleaningPlan, CleanedLog, [StoredRecord]) {
        let log = try TestLog()
        _ = try LogCompactionTests.fill(log, keys: 10, rounds: 8)
        let before = try log.readAll()
        let partition = try PartitionLog(directory: log.directory, config: log.config, recover: false, nowMs: 0)
        let plan = try #require(try partition.makeCleaningPlan(firstUnstableOffset: nil, aborted: [], retainedBatchOffsets: [],
                                                              nowMs: t0 + 10_000, maxKeys: 1000, force: true))
        let cleaned = try LogCleaner.clean(plan)
        #expect(!cleaned.groups.isEmpty)
        return (log, partition, plan, cleaned, before)
    }

    @Test func readsAndAppendsDuringAPassStayCorrect() throws {
        let (log, partition, plan, cleaned, before) = try Self.preparedPass()
        defer { withExtendedLifetime(log) {} }
        // The pass has written its output but not swapped it in: readers still see every record,
        // and appends go on.
        var builder = RecordBatchBuilder()
        try builder.append(timestamp: Self.t0 + 1, key: ByteBuffer(string: "key-1"), value: ByteBuffer(string: "late"))
        let batch = try builder.build()
        let late = try partition.append(batch, batches: try partition.validate(batch), nowMs: Self.t0 + 1).baseOffset
        #expect(try read(partition) == before + [StoredRecord(offset: late, key: "key-1", value: "late", timestamp: Self.t0 + 1, isControl: false)])

        #expect(try partition.completeCleaning(plan, cleaned))
        let after = try read(partition)
        #expect(after.last?.offset == late && after.last?.value == "late")
        #expect(after.count < before.count)
        #expect(partition.logEndOffset == late + 1)
    }

    @Test func aCrashAfterTheCommitPointFinishesTheSwapOnStart() throws {
        let (log, partition, plan, cleaned, before) = try Self.preparedPass()
        try SegmentSwap.commit(directory: plan.directory, groups: cleaned.groups)
        _ = partition  // the "crashed" broker never applied the swap
        try log.reopen(recover: true)
        let after = try log.readAll()
        #expect(after.count < before.count)
        #expect(Set(after.compactMap(\.key)) == Set(before.compactMap(\.key)))
        // Newest value of each key survived.
        for record in after where record.offset < cleaned.cleanedThrough {
            #expect(before.last { $0.key == record.key && $0.offset < cleaned.cleanedThrough }?.offset == record.offset)
        }
        #expect(!log.allFiles.contains { $0.hasSuffix(".cleaned") || $0.hasPrefix("cleaner-swap") })
    }

    @Test func aCrashBeforeTheCommitPointLeavesTheOldLog() throws {
        let (log, partition, _, _, before) = try Self.preparedPass()
        _ = partition
        #expect(log.allFiles.contains { $0.hasSuffix(".cleaned") })
        try log.reopen(recover: true)
        #expect(try log.readAll() == before)
        #expect(!log.allFiles.contains { $0.hasSuffix(".cleaned") })
    }

    @Test func aPassIsDiscardedWhenRetentionRemovedOneOfItsSegments() throws {
        let (log, partition, plan, cleaned, before) = try Self.preparedPass()
        // DeleteRecords drops the first segment while the pass ran.
        _ = try partition.deleteRecords(before: plan.segments[1].baseOffset)
        #expect(try partition.completeCleaning(plan, cleaned) == false)
        #expect(!log.allFiles.contains { $0.hasSuffix(".cleaned") })
        #expect(try read(partition) == before.filter { $0.offset >= plan.segments[1].baseOffset })
    }

    @Test func theSwapRebuildsIndexesThatFindEveryOffset() throws {
        let (log, partition, plan, cleaned, before) = try Self.preparedPass()
        defer { withExtendedLifetime(log) {} }
        #expect(try partition.completeCleaning(plan, cleaned))
        let after = try read(partition)
        // Reading from each survivor's own offset starts with the batch holding it.
        for record in after {
            var bytes = try #require(try partition.read(from: record.offset, endOffset: partition.logEndOffset, maxBytes: 1))
            let batch = try RecordBatch.decode(from: &bytes)
            #expect(batch.baseOffset <= record.offset && record.offset <= batch.lastOffset)
        }
        #expect(after.count < before.count)
    }

    @Test func aCorruptClosedSegmentStopsThePassInsteadOfTruncatingIt() throws {
        let log = try TestLog()
        _ = try LogCompactionTests.fill(log, keys: 10, rounds: 8)
        let files = log.segmentFiles
        let first = try POSIXFile(path: log.directory + "/" + files[0], create: false)
        let sizeBefore = try first.size()
        // Break the second batch's magic byte: the cleaner must not take that for the segment's end.
        var header = try first.read(at: 0, length: RecordBatchHeader.size, allocator: ByteBufferAllocator())
        let second = try RecordBatchHeader(from: header, at: header.readerIndex).totalSize
        header.clear()
        header.writeInteger(Int8(99))
        try first.write(header, at: second + RecordBatchHeader.Layout.magic)

        #expect(throws: StorageError.self) { try log.state.clean(nowMs: Self.t0, force: true) }
        #expect(log.segmentFiles == files)
        #expect(try first.size() == sizeBefore)
        #expect(!log.allFiles.contains { $0.hasSuffix(".cleaned") || $0.hasPrefix("cleaner-swap") })
    }

    func read(_ partition: PartitionLog) throws -> [StoredRecord] {
        var offset = partition.logStartOffset
        var out: [StoredRecord] = []
        while var bytes = try partition.read(from: offset, endOffset: partition.logEndOffset, maxBytes: 4096) {
            while bytes.readableBytes > 0 {
                let batch = try RecordBatch.decode(from: &bytes)
                try batch.forEachRecord { record in
                    guard record.offset >= offset else { return }
                    out.append(StoredRecord(offset: record.offset, key: record.key.map { String(buffer: $0) },
                                            value: record.value.map { String(buffer: $0) }, timestamp: record.timestamp, isControl: false))
                }
                offset = batch.lastOffset + 1
            }
        }
        return out
    }
}

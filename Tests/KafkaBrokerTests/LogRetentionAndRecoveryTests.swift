import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaBroker

/// Segment roll, retention by time and bytes, and recovery of a torn or corrupt tail,
/// on a partition log in a temporary directory.
@Suite struct LogRetentionAndRecoveryTests {
    /// One record per batch, so that segments fill batch by batch (a batch is about 170 bytes).
    static func appendSingles(_ log: TestLog, _ range: Range<Int>, timestamp: (Int) -> Int64) throws {
        for i in range {
            try log.append([(key: "k\(i)", value: String(repeating: "v", count: 100) + "\(i)", timestamp: timestamp(i))])
        }
    }

    static func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
    }

    static func logBytes(_ log: TestLog) throws -> Int {
        try log.segmentFiles.reduce(0) { $0 + (try fileSize(log.directory + "/" + $1)) }
    }

    static func segmentBases(_ log: TestLog) -> [Int64] {
        log.segmentFiles.compactMap { Int64($0.dropLast(4)) }.sorted()
    }

    @Test func segmentsRollBySizeAndEveryRecordStaysReadableAcrossARestart() throws {
        let log = try TestLog { $0.cleanupPolicy = .delete; $0.segmentBytes = 1024 }
        try Self.appendSingles(log, 0..<40) { 1_000 + Int64($0) }
        let bases = Self.segmentBases(log)
        #expect(bases.count >= 5)
        #expect(bases.first == 0)
        for file in log.segmentFiles { #expect(try Self.fileSize(log.directory + "/" + file) <= 1024) }
        #expect(try log.readAll().map(\.offset) == Array(0..<40))
        // Each segment is named by the first offset it holds.
        for base in bases { #expect(try log.readAll(from: base).first?.offset == base) }
        try log.reopen()
        #expect(try log.readAll().map(\.value) == (0..<40).map { String(repeating: "v", count: 100) + "\($0)" })
        #expect(try log.append([(key: "k", value: "after restart", timestamp: 2_000)]) == [40])
    }

    @Test func segmentsRollByAge() throws {
        let log = try TestLog { $0.cleanupPolicy = .delete; $0.segmentBytes = 1 << 20; $0.segmentMs = 1_000 }
        try log.append([(key: "a", value: "first", timestamp: 0)])
        try log.append([(key: "b", value: "young segment", timestamp: 500)])
        #expect(Self.segmentBases(log) == [0])
        try log.append([(key: "c", value: "segment is 1.5 s old", timestamp: 1_500)])
        #expect(Self.segmentBases(log) == [0, 2])
        try log.append([(key: "d", value: "young again", timestamp: 1_600)])
        #expect(Self.segmentBases(log) == [0, 2])
        #expect(try log.readAll().map(\.key) == ["a", "b", "c", "d"])
    }

    @Test func retentionByTimeDropsOnlyWholeSegmentsPastRetentionMs() throws {
        let log = try TestLog { $0.cleanupPolicy = .delete; $0.segmentBytes = 1024; $0.retentionMs = 10_000 }
        try Self.appendSingles(log, 0..<20) { 1_000 + Int64($0) }     // old
        try Self.appendSingles(log, 20..<40) { 50_000 + Int64($0) }   // new
        let segmentsBefore = Self.segmentBases(log).count

        try log.state.housekeeping(nowMs: 5_000)  // nothing is 10 s old yet
        #expect(log.state.logStartOffset == 0)
        #expect(Self.segmentBases(log).count == segmentsBefore)

        try log.state.housekeeping(nowMs: 50_100)
        let start = log.state.logStartOffset
        #expect(start > 0 && start <= 20)
        #expect(Self.segmentBases(log).first == start)
        let survivors = try log.readAll()
        #expect(survivors.first?.offset == start)
        #expect(survivors.map(\.offset) == Array(start..<40))
        // The new log start survives a restart.
        try log.reopen()
        #expect(log.state.logStartOffset == start)
        #expect(try log.readAll().map(\.offset) == Array(start..<40))
    }

    @Test func retentionByBytesKeepsTheNewestSegmentsWithinTheLimit() throws {
        let log = try TestLog { $0.cleanupPolicy = .delete; $0.segmentBytes = 1024; $0.retentionBytes = 2048; $0.retentionMs = -1 }
        try Self.appendSingles(log, 0..<60) { 1_000 + Int64($0) }
        let before = try Self.logBytes(log)
        #expect(before > 4 * 2048)
        try log.state.housekeeping(nowMs: 1_000_000_000)
        let after = try Self.logBytes(log)
        let firstSegment = try Self.fileSize(log.directory + "/" + log.segmentFiles.sorted().first!)
        // Kafka's rule: drop the oldest segments while the log would still be at least retention.bytes without them.
        #expect(after >= 2048)
        #expect(after - firstSegment < 2048)
        let records = try log.readAll()
        #expect(records.last?.offset == 59)
        #expect(records.first?.offset == log.state.logStartOffset)
        #expect(log.state.logStartOffset > 0)
    }

    @Test func compactedTopicsAreNotTrimmedByRetention() throws {
        let log = try TestLog { $0.cleanupPolicy = .compact; $0.segmentBytes = 1024; $0.retentionMs = 1; $0.retentionBytes = 1 }
        try Self.appendSingles(log, 0..<20) { Int64($0) }
        try log.state.housekeeping(nowMs: 1_000_000_000)
        #expect(log.state.logStartOffset == 0)
        #expect(try log.readAll().count == 20)
    }

    @Test func recoveryTruncatesATornTail() throws {
        let log = try TestLog { $0.cleanupPolicy = .delete }
        try Self.appendSingles(log, 0..<5) { 1_000 + Int64($0) }
        try log.state.flush()
        let path = log.directory + "/" + log.segmentFiles.sorted().last!
        let goodSize = try Self.fileSize(path)

        // Half of a valid batch: what a crash in the middle of a write leaves.
        var builder = RecordBatchBuilder()
        try builder.append(timestamp: 2_000, key: ByteBuffer(string: "torn"), value: ByteBuffer(string: String(repeating: "t", count: 300)))
        let batch = try builder.build()
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(batch.readableBytesView.prefix(batch.readableBytes / 2)))
        handle.closeFile()

        try log.reopen(recover: true)
        #expect(try Self.fileSize(path) == goodSize)
        #expect(try log.readAll().map(\.key) == (0..<5).map { "k\($0)" })
        #expect(try log.append([(key: "next", value: "after recovery", timestamp: 3_000)]) == [5])
        try log.reopen(recover: true)
        #expect(try log.readAll().map(\.key) == (0..<5).map { "k\($0)" } + ["next"])
    }

    @Test func recoveryDropsALastBatchWhoseCRCIsWrong() throws {
        let log = try TestLog { $0.cleanupPolicy = .delete }
        try Self.appendSingles(log, 0..<5) { 1_000 + Int64($0) }
        try log.state.flush()
        let path = log.directory + "/" + log.segmentFiles.sorted().last!
        let size = try Self.fileSize(path)
        // Flip a byte inside the last batch's record bytes (the value), leaving the header intact.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        handle.seek(toFileOffset: UInt64(size - 10))
        let original = handle.readData(ofLength: 1)
        handle.seek(toFileOffset: UInt64(size - 10))
        handle.write(Data([original[original.startIndex] ^ 0xFF]))
        handle.closeFile()

        try log.reopen(recover: true)
        #expect(try log.readAll().map(\.key) == (0..<4).map { "k\($0)" })
        #expect(try log.append([(key: "k4-again", value: "rewritten", timestamp: 3_000)]) == [4])
    }
}

import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaBroker

/// ListOffsets by timestamp: the first record whose own timestamp reaches the target.
@Suite struct TimestampLookupTests {
    static let t0: Int64 = 1_700_000_000_000

    /// 30 batches of 10 records; record i has timestamp t0 + 10·i.
    static func log(compression: CompressionCodec = .none, configure: (inout LogConfig) -> Void = { _ in }) throws -> TestLog {
        let log = try TestLog {
            $0.cleanupPolicy = .delete
            $0.segmentBytes = 4096
            configure(&$0)
        }
        for batch in 0..<30 {
            let records = (0..<10).map { i -> (key: String?, value: String?, timestamp: Int64) in
                let n = Int64(batch * 10 + i)
                return ("k\(n)", "value-\(n)", t0 + 10 * n)
            }
            try log.append(records, compression: compression)
        }
        return log
    }

    @Test(arguments: [CompressionCodec.none, .gzip])
    func findsTheExactRecordInsideABatch(compression: CompressionCodec) throws {
        let log = try Self.log(compression: compression)
        // Between records 56 and 57 of batch 5: the answer is record 57 and its own timestamp.
        var found = try #require(try log.state.firstRecord(atOrAfter: Self.t0 + 565))
        #expect(found.offset == 57 && found.timestamp == Self.t0 + 570)
        // Exactly on a record's timestamp.
        found = try #require(try log.state.firstRecord(atOrAfter: Self.t0 + 1230))
        #expect(found.offset == 123 && found.timestamp == Self.t0 + 1230)
        // Before everything, and after everything.
        found = try #require(try log.state.firstRecord(atOrAfter: 0))
        #expect(found.offset == 0 && found.timestamp == Self.t0)
        #expect(try log.state.firstRecord(atOrAfter: Self.t0 + 2991) == nil)
        // Every target lands on the right record, across all segments.
        for n in stride(from: Int64(1), to: 300, by: 7) {
            let target = Self.t0 + 10 * n - 3
            let hit = try #require(try log.state.firstRecord(atOrAfter: target))
            #expect(hit.offset == n && hit.timestamp == Self.t0 + 10 * n)
        }
    }

    @Test func unorderedTimestampsInsideABatch() throws {
        let log = try TestLog { $0.cleanupPolicy = .delete }
        try log.append([("a", "1", Self.t0 + 50), ("b", "2", Self.t0 + 10), ("c", "3", Self.t0 + 70), ("d", "4", Self.t0 + 60)])
        // The first record, in offset order, whose timestamp is at least the target.
        let found = try #require(try log.state.firstRecord(atOrAfter: Self.t0 + 55))
        #expect(found.offset == 2 && found.timestamp == Self.t0 + 70)
    }

    @Test func recordsBelowTheLogStartAreNotAnswers() throws {
        let log = try Self.log()
        _ = try log.state.deleteRecords(before: 45)
        let found = try #require(try log.state.firstRecord(atOrAfter: Self.t0 + 100))
        #expect(found.offset == 45 && found.timestamp == Self.t0 + 450)
    }

    @Test func logAppendTimeTopicsAnswerWithTheBrokersTime() throws {
        let log = try TestLog {
            $0.cleanupPolicy = .delete
            $0.timestampType = .logAppendTime
        }
        // The broker stamps each batch with the append time (the batch's last timestamp here).
        try log.append([("a", "1", Self.t0), ("b", "2", Self.t0 + 1)])
        try log.append([("c", "3", Self.t0 + 500), ("d", "4", Self.t0 + 501)])
        let found = try #require(try log.state.firstRecord(atOrAfter: Self.t0 + 2))
        #expect(found.offset == 2 && found.timestamp == Self.t0 + 501)
    }
}

import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaBroker

/// Compaction and the state that lives in batch headers: transactions and idempotent producers.
@Suite struct CompactionProducerStateTests {
    static let t0: Int64 = 1_700_000_000_000

    static func filler(_ log: TestLog, count: Int, prefix: String = "filler") throws {
        for i in 0..<count {
            try log.append([("\(prefix)-\(i)", String(repeating: "f", count: 80), t0 + 5)])
        }
    }

    @Test func abortedRecordsNeitherShadowOlderValuesNorSurvive() throws {
        let log = try TestLog()
        let committed = try log.append([("k", "committed", Self.t0)])[0]
        let aborted = try log.append([("k", "aborted", Self.t0 + 1)], producerId: 7, producerEpoch: 0, baseSequence: 0, transactional: true)[0]
        try log.state.writeMarker(producerId: 7, producerEpoch: 0, commit: false, coordinatorEpoch: 0, nowMs: Self.t0 + 2)
        let marker = log.state.logEndOffset - 1
        try Self.filler(log, count: 30)

        try #require(try log.state.clean(nowMs: Self.t0 + 100) != nil)
        let stored = try log.readAll()
        #expect(stored.contains { $0.offset == committed && $0.value == "committed" })
        #expect(!stored.contains { $0.offset == aborted && !$0.isControl })
        #expect(stored.contains { $0.offset == marker && $0.isControl }, "transaction markers are kept")
        // read_committed sees the same committed value.
        #expect(try log.readAll(readCommitted: true).contains { $0.offset == committed })
    }

    @Test func committedTransactionalRecordsCountAsNewest() throws {
        let log = try TestLog()
        let old = try log.append([("k", "old", Self.t0)])[0]
        let new = try log.append([("k", "in-txn", Self.t0 + 1)], producerId: 8, producerEpoch: 0, baseSequence: 0, transactional: true)[0]
        try log.state.writeMarker(producerId: 8, producerEpoch: 0, commit: true, coordinatorEpoch: 0, nowMs: Self.t0 + 2)
        try Self.filler(log, count: 30)
        try #require(try log.state.clean(nowMs: Self.t0 + 100) != nil)
        let stored = try log.readAll(readCommitted: true)
        #expect(!stored.contains { $0.offset == old })
        #expect(stored.contains { $0.offset == new && $0.value == "in-txn" })
    }

    @Test func nothingAtOrPastAnOpenTransactionIsCleaned() throws {
        let log = try TestLog()
        try Self.filler(log, count: 12, prefix: "before")
        let open = try log.append([("t", "open", Self.t0)], producerId: 9, producerEpoch: 0, baseSequence: 0, transactional: true)[0]
        // The same keys again, after the open transaction's first offset, across several segments.
        try Self.filler(log, count: 12, prefix: "before")
        try Self.filler(log, count: 30, prefix: "after")
        let everything = try log.readAll()

        let summary = try #require(try log.state.clean(nowMs: Self.t0 + 100, force: true))
        #expect(summary.cleanedThrough <= open)
        let stored = try log.readAll()
        #expect(stored.filter { $0.offset >= summary.cleanedThrough } == everything.filter { $0.offset >= summary.cleanedThrough })
        #expect(stored.contains { $0.offset == open && $0.value == "open" })

        // Once the transaction commits, the rest becomes cleanable and the older "before" values go.
        try log.state.writeMarker(producerId: 9, producerEpoch: 0, commit: true, coordinatorEpoch: 0, nowMs: Self.t0 + 200)
        try Self.filler(log, count: 12, prefix: "tail")
        try #require(try log.state.clean(nowMs: Self.t0 + 300, force: true) != nil)
        let after = try log.readAll()
        #expect(after.filter { $0.key == "before-0" }.count == 1)
        #expect(after.contains { $0.offset == open && $0.value == "open" })
    }

    @Test func anIdempotentProducersLastSequenceSurvivesCompactionAndRestart() throws {
        let log = try TestLog()
        // Producer 5 writes two batches (sequences 0 and 1–2); newer writes of the same keys by others supersede both.
        try log.append([("a", "p5-a", Self.t0)], producerId: 5, producerEpoch: 0, baseSequence: 0)
        let lastBatch = try log.append([("b", "p5-b", Self.t0), ("c", "p5-c", Self.t0)], producerId: 5, producerEpoch: 0, baseSequence: 1)
        try log.append([("a", "newer", Self.t0 + 1), ("b", "newer", Self.t0 + 1), ("c", "newer", Self.t0 + 1)])
        try Self.filler(log, count: 30)
        try #require(try log.state.clean(nowMs: Self.t0 + 100) != nil)
        #expect(!(try log.readAll()).contains { $0.value?.hasPrefix("p5-") == true })

        try log.reopen()
        // The emptied batch still spans its offsets and tells a restarted broker the last sequence was 2.
        let next = log.state.logEndOffset
        #expect(next > lastBatch[1])
        #expect {
            try log.append([("d", "gap", Self.t0 + 2)], producerId: 5, producerEpoch: 0, baseSequence: 7)
        } throws: { error in
            (error as? AppendError)?.code == .outOfOrderSequenceNumber
        }
        #expect(try log.append([("d", "in-order", Self.t0 + 2)], producerId: 5, producerEpoch: 0, baseSequence: 3) == [next])
    }
}

import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// read_committed filtering on hand-built record sets: what the broker returns for a partition
/// with interleaved transactions, and the aborted-transaction list it sends with it.
@Suite struct ConsumerAbortedTransactionTests {
    /// Builds one partition's log: batches appended at consecutive offsets.
    struct Log {
        var bytes = ByteBuffer()
        var nextOffset: Int64 = 0

        /// Appends a data batch of `count` records with values "<label>-<i>"; returns its offsets.
        @discardableResult
        mutating func data(_ label: String, count: Int, producerId: Int64 = -1, transactional: Bool = false,
                           compression: CompressionCodec = .none) throws -> ClosedRange<Int64> {
            var builder = RecordBatchBuilder(baseOffset: nextOffset, compression: compression, producerId: producerId,
                                             producerEpoch: producerId >= 0 ? 0 : -1, baseSequence: producerId >= 0 ? 0 : -1,
                                             isTransactional: transactional)
            for i in 0..<count {
                try builder.append(timestamp: 1_700_000_000_000 + Int64(i), key: nil, value: ByteBuffer(string: "\(label)-\(i)"))
            }
            try builder.build(into: &bytes)
            defer { nextOffset += Int64(count) }
            return nextOffset...(nextOffset + Int64(count) - 1)
        }

        /// Appends a commit or abort marker of `producerId`; returns its offset.
        @discardableResult
        mutating func marker(commit: Bool, producerId: Int64) throws -> Int64 {
            let batch = try RecordBatchBuilder.endTransactionMarker(.endTransaction(commit: commit, coordinatorEpoch: 0), baseOffset: nextOffset,
                                                                    timestamp: 1_700_000_000_000, producerId: producerId, producerEpoch: 0)
            bytes.writeImmutableBuffer(batch)
            defer { nextOffset += 1 }
            return nextOffset
        }
    }

    func decode(_ log: Log, from offset: Int64 = 0, aborted: [(Int64, Int64)], readCommitted: Bool = true) -> DecodedPartitionRecords {
        FetchedPartitionDecoder.decode(
            topic: "t", partition: 0, records: log.bytes, fetchOffset: offset,
            abortedTransactions: aborted.map { FetchResponse.AbortedTransaction(producerId: $0.0, firstOffset: $0.1) },
            readCommitted: readCommitted, options: .default)
    }

    func values(_ decoded: DecodedPartitionRecords) -> [String] {
        decoded.records.map { String(buffer: $0.value!) }
    }

    @Test func abortedTransactionsAreDroppedAndCommittedOnesKept() throws {
        var log = Log()
        try log.data("plain", count: 2)                                           // 0-1
        let aborted = try log.data("p7-aborted", count: 3, producerId: 7, transactional: true) // 2-4
        try log.data("p8-committed", count: 2, producerId: 8, transactional: true) // 5-6
        try log.marker(commit: false, producerId: 7)                              // 7
        try log.marker(commit: true, producerId: 8)                               // 8
        try log.data("tail", count: 1)                                            // 9
        let decoded = decode(log, aborted: [(7, aborted.lowerBound)])
        #expect(values(decoded) == ["plain-0", "plain-1", "p8-committed-0", "p8-committed-1", "tail-0"])
        #expect(decoded.records.map(\.offset) == [0, 1, 5, 6, 9])
        #expect(decoded.nextFetchOffset == 10)
    }

    @Test func aProducersLaterTransactionAfterItsAbortMarkerIsRead() throws {
        var log = Log()
        let first = try log.data("first", count: 2, producerId: 3, transactional: true, compression: .lz4)
        try log.marker(commit: false, producerId: 3)
        try log.data("second", count: 2, producerId: 3, transactional: true, compression: .lz4)
        try log.marker(commit: true, producerId: 3)
        let decoded = decode(log, aborted: [(3, first.lowerBound)])
        #expect(values(decoded) == ["second-0", "second-1"])
    }

    @Test func twoAbortedTransactionsOfTheSameProducerAreBothDropped() throws {
        var log = Log()
        let first = try log.data("a1", count: 1, producerId: 5, transactional: true)
        try log.marker(commit: false, producerId: 5)
        try log.data("kept", count: 1, producerId: 6, transactional: true)
        let second = try log.data("a2", count: 2, producerId: 5, transactional: true)
        try log.marker(commit: true, producerId: 6)
        try log.marker(commit: false, producerId: 5)
        let decoded = decode(log, aborted: [(5, second.lowerBound), (5, first.lowerBound)])
        #expect(values(decoded) == ["kept-0"])
    }

    @Test func anAbortedTransactionStartedBeforeTheFetchOffsetIsStillDropped() throws {
        var log = Log()
        let aborted = try log.data("early", count: 2, producerId: 9, transactional: true) // 0-1
        try log.data("late", count: 2, producerId: 9, transactional: true)                // 2-3, same open transaction
        try log.marker(commit: false, producerId: 9)                                        // 4
        try log.data("after", count: 1)                                                     // 5
        // Fetching from offset 2: the broker still lists the transaction (it overlaps the range).
        let decoded = decode(log, from: 2, aborted: [(9, aborted.lowerBound)])
        #expect(values(decoded) == ["after-0"])
    }

    @Test func readUncommittedKeepsEverythingButControlBatches() throws {
        var log = Log()
        let aborted = try log.data("x", count: 2, producerId: 1, transactional: true)
        try log.marker(commit: false, producerId: 1)
        try log.data("y", count: 1)
        let decoded = decode(log, aborted: [(1, aborted.lowerBound)], readCommitted: false)
        #expect(values(decoded) == ["x-0", "x-1", "y-0"])
        #expect(decoded.nextFetchOffset == 4)
    }

    @Test func recordsBeforeTheFetchOffsetInACompressedBatchAreTrimmed() throws {
        var log = Log()
        try log.data("batch", count: 5, compression: .lz4)
        let decoded = decode(log, from: 3, aborted: [])
        #expect(decoded.records.map(\.offset) == [3, 4])
    }

    @Test func aPartialBatchAtTheEndIsLeftForTheNextFetch() throws {
        var log = Log()
        try log.data("whole", count: 2)
        try log.data("cut", count: 2)
        log.bytes.moveWriterIndex(to: log.bytes.writerIndex - 10)
        let decoded = decode(log, aborted: [])
        #expect(values(decoded) == ["whole-0", "whole-1"])
        #expect(decoded.nextFetchOffset == 2)
        #expect(decoded.corruption == nil)
    }

    @Test func onlyControlBatchesStillAdvanceTheFetchOffset() throws {
        var log = Log()
        log.nextOffset = 40
        try log.marker(commit: true, producerId: 2)
        let decoded = decode(log, from: 40, aborted: [])
        #expect(decoded.records.isEmpty)
        #expect(decoded.nextFetchOffset == 41)
    }

    @Test func aCorruptBatchStopsDecodingWithAnError() throws {
        var log = Log()
        try log.data("good", count: 1)
        try log.data("bad", count: 1)
        // Flip a byte inside the second batch's records: its CRC no longer matches.
        let index = log.bytes.writerIndex - 2
        log.bytes.setInteger(log.bytes.getInteger(at: index, as: UInt8.self)! ^ 0xFF, at: index)
        let decoded = decode(log, aborted: [])
        #expect(values(decoded) == ["good-0"])
        guard case let .corruptRecord(partition, offset, _)? = decoded.corruption else {
            Issue.record("expected a corrupt record error, got \(String(describing: decoded.corruption))")
            return
        }
        #expect(partition == TopicPartition("t", 0))
        #expect(offset == 1)
    }

    @Test func keysAndValuesShareTheFetchedBytes() throws {
        var log = Log()
        try log.data("v", count: 3)
        let decoded = decode(log, aborted: [])
        // The values are views into the fetched buffer, not copies of it.
        let storage = log.bytes.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) }
        let size = UInt(log.bytes.readableBytes)
        for record in decoded.records {
            let address = record.value!.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) }
            #expect(address >= storage && address < storage + size)
        }
    }
}

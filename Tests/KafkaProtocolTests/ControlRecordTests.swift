import NIOCore
import Testing
@testable import KafkaProtocol

@Suite struct ControlRecordTests {
    /// Kafka's end-transaction marker layout, written out by hand from the protocol
    /// documentation: key = version int16 0, type int16 (0 abort, 1 commit);
    /// value = version int16 0, coordinator epoch int32.
    @Test func markerBytesFollowTheProtocol() {
        let commit = ControlRecord.endTransaction(commit: true, coordinatorEpoch: 5)
        #expect(commit.encodedKey().bytes == [0x00, 0x00, 0x00, 0x01])
        #expect(commit.encodedValue()?.bytes == [0x00, 0x00, 0x00, 0x00, 0x00, 0x05])
        let abort = ControlRecord.endTransaction(commit: false, coordinatorEpoch: 0x0102_0304)
        #expect(abort.encodedKey().bytes == [0x00, 0x00, 0x00, 0x00])
        #expect(abort.encodedValue()?.bytes == [0x00, 0x00, 0x01, 0x02, 0x03, 0x04])
    }

    @Test func decodeMarkers() throws {
        let commit = try ControlRecord(key: ByteBuffer(bytes: [0, 0, 0, 1]), value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 7]))
        #expect(commit.kind == .commit && commit.coordinatorEpoch == 7 && commit.markerVersion == 0)
        let abort = try ControlRecord(key: ByteBuffer(bytes: [0, 0, 0, 0]), value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 9, 0xAA]))
        #expect(abort.kind == .abort && abort.coordinatorEpoch == 9)
        let leaderChange = try ControlRecord(key: ByteBuffer(bytes: [0, 0, 0, 2]), value: ByteBuffer(bytes: [1, 2, 3]))
        #expect(leaderChange.kind == .other(2) && leaderChange.rawValue == ByteBuffer(bytes: [1, 2, 3]))
    }

    @Test func malformedControlRecords() {
        let cases: [(ByteBuffer?, ByteBuffer?)] = [
            (nil, nil),
            (ByteBuffer(bytes: [0, 0, 0]), ByteBuffer(bytes: [0, 0, 0, 0, 0, 0])),
            (ByteBuffer(bytes: [0xFF, 0xFF, 0, 1]), ByteBuffer(bytes: [0, 0, 0, 0, 0, 0])),
            (ByteBuffer(bytes: [0, 0, 0, 1]), nil),
            (ByteBuffer(bytes: [0, 0, 0, 1]), ByteBuffer(bytes: [0, 0, 0, 0, 0])),
            (ByteBuffer(bytes: [0, 0, 0, 0]), ByteBuffer(bytes: [0x80, 0, 0, 0, 0, 0])),
        ]
        for (key, value) in cases {
            #expect(throws: KafkaProtocolError.self) { _ = try ControlRecord(key: key, value: value) }
        }
    }

    @Test func controlBatchRoundTrip() throws {
        let marker = ControlRecord.endTransaction(commit: false, coordinatorEpoch: 42)
        let buffer = try RecordBatchBuilder.endTransactionMarker(marker, baseOffset: 77, timestamp: 1_700_000_000_000,
                                                                 producerId: 3000, producerEpoch: 6)
        let batch = try RecordBatch(decoding: buffer, at: 0)
        #expect(batch.isControl && batch.isTransactional)
        #expect(batch.header.producerId == 3000 && batch.header.producerEpoch == 6)
        let records = try batch.records()
        #expect(records.count == 1 && records[0].offset == 77)
        #expect(try ControlRecord(records[0]) == marker)
    }
}

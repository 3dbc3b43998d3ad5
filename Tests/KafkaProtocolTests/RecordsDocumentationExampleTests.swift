import NIOCore
import Testing
import KafkaProtocol

/// The example in docs/records.md, kept compiling and passing.
@Suite struct RecordsDocumentationExampleTests {
    @Test func readingExample() throws {
        // A batch as a producer would send it.
        var builder = RecordBatchBuilder(compression: .lz4, producerId: 7, producerEpoch: 0, baseSequence: 0)
        try builder.append(timestamp: 1_700_000_000_000, key: ByteBuffer(string: "user-1"), value: ByteBuffer(string: "clicked"),
                           headers: [RecordHeader(key: "trace", value: ByteBuffer(string: "abc"))])
        try builder.append(timestamp: 1_700_000_000_002, key: nil, value: ByteBuffer(string: "scrolled"))
        var fetched = try builder.build()
        // What a fetch response cut mid-batch looks like: the start of a second batch.
        fetched.writeBytes([0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 90])

        var reader = RecordSetReader(fetched)
        var offsets: [Int64] = []
        while let entry = try reader.next() {
            if case let .batch(batch) = entry, batch.isControl { continue } // transaction markers
            try entry.forEachRecord { record in
                offsets.append(record.offset)
                _ = record.value?.readableBytes // a slice of the batch bytes: nothing was copied
            }
        }
        #expect(offsets == [0, 1])
        #expect(reader.incompleteTailBytes == 12) // fetch again from offset 2
    }
}

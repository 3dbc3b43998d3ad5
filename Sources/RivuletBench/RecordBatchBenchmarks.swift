import KafkaProtocol
import NIOCore

/// Batch encode and decode throughput per codec, for 100-byte and 1 KiB record values.
struct RecordBatchBenchmarks: BenchmarkGroup {
    let name = "records"
    let title = "Record batches"

    /// A value that compresses like typical text payloads: words drawn from a small vocabulary.
    static func payload(size: Int, seed: Int) -> ByteBuffer {
        let words = ["order", "id", "user", "42", "status", "shipped", "amount", "19.99", "eur", "warehouse", "{", "}", ":", ","]
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        var bytes: [UInt8] = []
        while bytes.count < size {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            bytes.append(contentsOf: words[Int(state % UInt64(words.count))].utf8)
            bytes.append(UInt8(ascii: " "))
        }
        return ByteBuffer(bytes: bytes.prefix(size))
    }

    func run(_ context: BenchmarkContext) throws -> String {
        var rows: [String] = []
        var target = ""
        for (valueSize, count) in [(100, 1000), (1024, 100)] {
            let values = (0..<count).map { Self.payload(size: valueSize, seed: $0) }
            let key = ByteBuffer(string: "key-00000")
            for codec in CompressionCodec.allCases {
                func makeBuilder() throws -> RecordBatchBuilder {
                    var builder = RecordBatchBuilder(compression: codec, producerId: 1, producerEpoch: 0, baseSequence: 0,
                                                     reservingCapacity: count * (valueSize + 24))
                    for (index, value) in values.enumerated() {
                        try builder.append(timestamp: 1_700_000_000_000 + Int64(index), key: key, value: value)
                    }
                    return builder
                }
                let batch = try makeBuilder().build()
                let payloadBytes = Double(count * (valueSize + key.readableBytes))

                let encodeSeconds = try Measurement.secondsPerCall(minimumTime: context.minimumTime) {
                    blackHole(try makeBuilder().build())
                }
                let decodeSeconds = try Measurement.secondsPerCall(minimumTime: context.minimumTime) {
                    var reader = RecordSetReader(batch)
                    var total = 0
                    try reader.forEachRecord { total &+= $0.value?.readableBytes ?? 0 }
                    blackHole(total)
                }
                let arraySeconds = try Measurement.secondsPerCall(minimumTime: context.minimumTime) {
                    blackHole(try RecordBatch(decoding: batch, at: batch.readerIndex).records())
                }
                let encodeRate = Double(count) / encodeSeconds, decodeRate = Double(count) / decodeSeconds
                rows.append("| \(valueSize) B | \(codec) | \(Format.fixed(Double(batch.readableBytes) / payloadBytes)) "
                    + "| \(Format.rate(encodeRate)) | \(Format.fixed(payloadBytes / encodeSeconds / 1e6, 0)) "
                    + "| \(Format.rate(decodeRate)) | \(Format.fixed(payloadBytes / decodeSeconds / 1e6, 0)) "
                    + "| \(Format.rate(Double(count) / arraySeconds)) |")
                if valueSize == 100 && codec == .none {
                    target = "Uncompressed decode of 100-byte records: \(Format.rate(decodeRate))records/s (target ≥ 5 M/s)."
                }
            }
        }
        return """
        ## Record batches

        One core. A batch of 1000 records with 100-byte values, or 100 records with 1 KiB values; every record has a \
        9-byte key, no headers, and a text-like value (words from a small vocabulary, so codecs find realistic \
        redundancy). MB/s counts key+value bytes (10^6 bytes per second). *Encode*: append every record and build \
        (compress, CRC). *Decode*: `RecordSetReader` + `forEachRecord` (CRC check, decompression, parse, touching each \
        value). *Decode to array*: `RecordBatch.records()`.

        \(target)

        | value | codec | size ratio | encode records/s | encode MB/s | decode records/s | decode MB/s | decode to array records/s |
        | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |
        \(rows.joined(separator: "\n"))
        """
    }
}

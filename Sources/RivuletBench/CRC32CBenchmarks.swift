import KafkaProtocol

/// CRC-32C throughput of the hardware and table implementations at a few input sizes.
struct CRC32CBenchmarks: BenchmarkGroup {
    let name = "crc32c"
    let title = "CRC-32C"

    func run(_ context: BenchmarkContext) throws -> String {
        let sizes = [(256, "256 B"), (4096, "4 KiB"), (65536, "64 KiB"), (1 << 20, "1 MiB"), (16 << 20, "16 MiB")]
        var generator = SystemRandomNumberGenerator()
        let data = (0..<(16 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var rows: [String] = []
        for (size, label) in sizes {
            var cells = [label]
            for implementation in [CRC32C.Implementation.hardware, .software] {
                let seconds = data.withUnsafeBytes { raw in
                    let slice = UnsafeRawBufferPointer(rebasing: raw[0..<size])
                    var sink: UInt32 = 0
                    let perCall = Measurement.secondsPerCall(minimumTime: context.minimumTime) {
                        sink &+= CRC32C.checksum(slice, implementation: implementation)
                    }
                    blackHole(sink)
                    return perCall
                }
                cells.append(Format.fixed(Double(size) / seconds / 1e9))
            }
            rows.append("| " + cells.joined(separator: " | ") + " |")
        }
        return """
        ## CRC-32C

        One core, GB/s (10^9 bytes per second). Hardware: SSE4.2 `crc32` with three interleaved streams\
        \(CRC32C.hardwareAvailable ? "" : " (NOT AVAILABLE on this CPU: the column shows the table fallback)"); \
        table: slicing-by-8. Target: ≥ 8 GB/s.

        | input | hardware GB/s | table GB/s |
        | ---: | ---: | ---: |
        \(rows.joined(separator: "\n"))
        """
    }
}

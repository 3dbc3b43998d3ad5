import Dispatch
import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore

/// Producer throughput against the dev broker, side by side with librdkafka.
///
/// Both send the same records to a fresh 6-partition topic of a `rivulet broker` process
/// started for the purpose: 100-byte values without keys, acks=all, idempotence, lz4, every
/// other setting at each client's default. librdkafka runs through confluent-kafka
/// (Benchmarks/producer_librdkafka.py) without a per-message callback. Runs alternate between
/// the two clients and the best of each is kept. Delivery is verified by the topics' end offsets.
///
/// Environment: `RIVULET_PYTHON` (a Python with confluent-kafka; default `.venv/bin/python`),
/// `RIVULET_BENCH_PRODUCER_RECORDS` (default 1,000,000), `RIVULET_BENCH_PRODUCER_RUNS` (default 3).
struct ProducerBenchmarks: BenchmarkGroup {
    let name = "producer"
    let title = "Producer throughput"

    static let partitions: Int32 = 6
    static let valueSize = 100

    func run(_ context: BenchmarkContext) throws -> String {
        try runBlocking { try await measure() }
    }

    private func measure() async throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let records = Int(environment["RIVULET_BENCH_PRODUCER_RECORDS"] ?? "") ?? 1_000_000
        let runs = Int(environment["RIVULET_BENCH_PRODUCER_RUNS"] ?? "") ?? 3
        let python = environment["RIVULET_PYTHON"] ?? ".venv/bin/python"
        let script = environment["RIVULET_BENCH_LIBRDKAFKA_SCRIPT"] ?? "Benchmarks/producer_librdkafka.py"

        let broker = try DevBrokerProcess.start()
        defer { broker.stop() }
        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: broker.bootstrap))
        let admin = KafkaAdmin(cluster: cluster)

        var rivulet: [Double] = []
        var librdkafka: [Double] = []
        var kcat: [Double] = []
        var kcatError: String?
        var librdkafkaVersion = "?"
        let lines = try Self.valueLinesFile(records: records)
        defer { try? FileManager.default.removeItem(atPath: lines) }
        for run in 0..<runs {
            let ours = "bench-rivulet-\(run)"
            try await admin.createTopics([NewTopic(name: ours, partitions: Self.partitions)])
            rivulet.append(try await Self.rivuletRun(bootstrap: broker.bootstrap, topic: ours, records: records))
            try await Self.verify(admin: admin, topic: ours, atLeast: records)

            let theirs = "bench-librdkafka-\(run)"
            try await admin.createTopics([NewTopic(name: theirs, partitions: Self.partitions)])
            let result = try Self.librdkafkaRun(python: python, script: script, bootstrap: broker.bootstrap, topic: theirs, records: records)
            librdkafka.append(result.seconds)
            librdkafkaVersion = result.version
            try await Self.verify(admin: admin, topic: theirs, atLeast: records)

            if kcatError == nil {
                let viaKcat = "bench-kcat-\(run)"
                try await admin.createTopics([NewTopic(name: viaKcat, partitions: Self.partitions)])
                do {
                    kcat.append(try Self.kcatRun(bootstrap: broker.bootstrap, topic: viaKcat, linesFile: lines))
                    try await Self.verify(admin: admin, topic: viaKcat, atLeast: records - 1)
                } catch {
                    kcatError = "\(error)"
                }
            }
            FileHandle.standardError.write(Data("  run \(run + 1): rivulet \(Format.fixed(rivulet.last!, 3)) s, librdkafka \(Format.fixed(librdkafka.last!, 3)) s, kcat \(kcat.last.map { Format.fixed($0, 3) } ?? "-") s\n".utf8))
        }
        await cluster.close()

        let best = (rivulet: rivulet.min()!, librdkafka: librdkafka.min()!)
        let bytes = Double(records * Self.valueSize)
        func row(_ client: String, _ seconds: Double, _ all: [Double]) -> String {
            "| \(client) | \(Format.rate(Double(records) / seconds))records/s | \(Format.fixed(bytes / seconds / 1e6, 1)) | "
                + all.map { Format.fixed($0, 2) }.joined(separator: ", ") + " |"
        }
        let ratio = best.librdkafka / best.rivulet
        var kcatRow = ""
        var kcatRatio = ""
        if let bestKcat = kcat.min() {
            kcatRow = "\n" + row("librdkafka \((try? Kcat.librdkafkaVersion()) ?? "?") in C (kcat)", bestKcat, kcat)
            kcatRatio = " Rivulet / kcat (librdkafka in C, no Python): **\(Format.fixed(bestKcat / best.rivulet, 2))×**."
        } else if let kcatError {
            kcatRatio = " (kcat not measured: \(kcatError).)"
        }
        return """
        ## Producer throughput

        \(records.formatted()) records with \(Self.valueSize)-byte values and no key, to a \(Self.partitions)-partition topic of \
        a `rivulet broker` (release build) on the same machine: acks=all, idempotence on, lz4; every other \
        setting at the client's default (Rivulet: linger 5 ms, batchSize 64 KiB; librdkafka \(librdkafkaVersion): \
        linger.ms 5, batch.size 1 MB). Timed from the first send to the acknowledgement of the last \
        (`sendAndForget` then `flush()`; librdkafka: `produce()` then `flush()`, through confluent-kafka without \
        a per-message callback). kcat: librdkafka's C console producer with the same settings (`-z lz4 -X acks=all \
        -X enable.idempotence=true -X linger.ms=5`), one value per line of a file, timed as a process, start-up included. \
        \(runs) alternating runs each; the best counts. MB/s counts value bytes.

        **Rivulet / librdkafka: \(Format.fixed(ratio, 2))×** (target ≥ 1.00).\(kcatRatio)

        | client | best | MB/s | seconds per run |
        | --- | ---: | ---: | --- |
        \(row("Rivulet", best.rivulet, rivulet))
        \(row("librdkafka (confluent-kafka)", best.librdkafka, librdkafka))\(kcatRow)
        """
    }

    /// The benchmark value: letters in a fixed pattern, the same bytes the Python side sends.
    static let value = ByteBuffer(bytes: (0..<valueSize).map { UInt8(($0 * 7 + 13) % 26 + 97) })

    static func rivuletRun(bootstrap: String, topic: String, records: Int) async throws -> Double {
        var configuration = try ProducerConfiguration(bootstrap: bootstrap)
        configuration.acks = .all
        configuration.enableIdempotence = true
        configuration.compression = .lz4
        configuration.deliveryReports = .failuresOnly
        let producer = try await KafkaProducer.make(configuration: configuration)
        let failures = Task {
            var count = 0
            for await report in producer.deliveryReports where (try? report.result.get()) == nil { count += 1 }
            return count
        }
        // Warm up: connection, metadata and producer id, outside the timed part.
        _ = try await producer.send(ProducerRecord(topic: topic, value: ByteBuffer(string: "warm-up")))
        let value = Self.value
        let start = ContinuousClock.now
        for _ in 0..<records {
            try await producer.sendAndForget(ProducerRecord(topic: topic, value: value))
        }
        try await producer.flush()
        let elapsed = ContinuousClock.now - start
        await producer.close()
        let failed = await failures.value
        guard failed == 0 else { throw BenchmarkError("Rivulet: \(failed) records not delivered") }
        return elapsed.inSeconds
    }

    static func librdkafkaRun(python: String, script: String, bootstrap: String, topic: String, records: Int) throws -> (seconds: Double, version: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--bootstrap", bootstrap, "--topic", topic, "--count", String(records), "--size", String(valueSize)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let result = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let seconds = result["seconds"] as? Double, let delivered = result["records"] as? Int
        else {
            throw BenchmarkError("librdkafka run failed (\(python) \(script)): \(String(decoding: data, as: UTF8.self))")
        }
        guard delivered == records else { throw BenchmarkError("librdkafka delivered \(delivered) of \(records): \(result["errors"] ?? "")") }
        return (seconds, result["librdkafka"] as? String ?? "?")
    }

    /// The benchmark value, once per line: kcat's input.
    static func valueLinesFile(records: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rivulet-bench-values-\(UUID().uuidString)").path
        var line = Data(value.readableBytesView)
        line.append(0x0A)
        var data = Data(capacity: line.count * records)
        for _ in 0..<records { data.append(line) }
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// kcat (librdkafka's C console producer) sending every line of `linesFile` as a record.
    static func kcatRun(bootstrap: String, topic: String, linesFile: String) throws -> Double {
        try Kcat.timedRun(["-P", "-b", bootstrap, "-t", topic, "-z", "lz4", "-X", "acks=all",
                           "-X", "enable.idempotence=true", "-X", "linger.ms=5", "-l", linesFile])
    }

    /// Every record (and the warm-up one) is in the topic.
    static func verify(admin: KafkaAdmin, topic: String, atLeast records: Int) async throws {
        let partitions = (0..<Self.partitions).map { TopicPartition(topic: topic, partition: $0) }
        let offsets = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) }))
        let total = offsets.values.reduce(0) { $0 + Int($1.offset) }
        guard total == records + 1 else { throw BenchmarkError("\(topic) holds \(total) records, expected \(records + 1)") }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs async work from a synchronous benchmark group: the work runs on the global executor
/// while the calling (main) thread waits.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// Carries a result from a task to the thread waiting for it; written once before the
/// semaphore is signalled and read after it.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// A `rivulet broker` process with a throwaway data directory, from the same build as the bench.
final class DevBrokerProcess: @unchecked Sendable {
    let bootstrap: String
    private let process: Process
    private let directory: String

    private init(bootstrap: String, process: Process, directory: String) {
        self.bootstrap = bootstrap
        self.process = process
        self.directory = directory
    }

    static func start() throws -> DevBrokerProcess {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rivulet").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchmarkError("\(executable) not found: build the `rivulet` product with the same configuration")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rivulet-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["broker", "--listen", "127.0.0.1:0", "--data-dir", directory, "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // The broker prints "rivulet dev broker listening on HOST:PORT" once bound.
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first(where: { $0.contains("listening on") }),
              let address = line.split(separator: " ").last else {
            process.terminate()
            throw BenchmarkError("the dev broker did not start: \(text)")
        }
        return DevBrokerProcess(bootstrap: String(address), process: process, directory: directory)
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

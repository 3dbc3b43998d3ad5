import Dispatch
import Foundation
import KafkaBroker
import KafkaClient
import KafkaProtocol
import NIOCore
import Synchronization

/// Consumer throughput: 1,000,000 records of 100 bytes (lz4, 6 partitions) read from the dev
/// broker by Rivulet's `KafkaConsumer` and by librdkafka (confluent-kafka), in the same run.
///
/// The broker runs in this process; librdkafka runs in a Python child process
/// (`RIVULET_BENCH_PYTHON`, default `.venv/bin/python`, else `python3`). The clients take turns,
/// never running at the same time, and each is timed from assigning the partitions to holding
/// the last record.
struct ConsumerBenchmarks: BenchmarkGroup {
    let name = "consumer"
    let title = "Consumer throughput"

    static let recordCount = 1_000_000
    static let partitions: Int32 = 6
    static let valueSize = 100
    static let recordsPerBatch = 1_000
    static let rounds = 3

    func run(_ context: BenchmarkContext) throws -> String {
        try runBlocking { try await Self.measure() }
    }

    private static func measure() async throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rivulet-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var brokerConfiguration = BrokerConfiguration(dataDirectory: directory)
        brokerConfiguration.port = 0
        let broker = try await EmbeddedBroker.start(brokerConfiguration)
        let topic = "bench-consume"
        let bytes: Int
        do {
            bytes = try await produce(topic: topic, bootstrap: broker.bootstrapAddress)
        } catch {
            await broker.shutdown()
            throw error
        }

        var rivulet: [Double] = []
        var librdkafka: [Double] = []
        var kcat: [Double] = []
        var librdkafkaError: String?
        var kcatError: String?
        for round in 0..<rounds {
            // Alternate who goes first, so none always reads a warmer page cache.
            let order = ["rivulet", "librdkafka", "kcat"]
            for client in round % 2 == 0 ? order : order.reversed() {
                switch client {
                case "rivulet":
                    rivulet.append(try await consumeWithRivulet(topic: topic, bootstrap: broker.bootstrapAddress))
                case "librdkafka" where librdkafkaError == nil:
                    do {
                        librdkafka.append(try consumeWithLibrdkafka(topic: topic, bootstrap: broker.bootstrapAddress))
                    } catch {
                        librdkafkaError = "\(error)"
                    }
                case "kcat" where kcatError == nil:
                    do {
                        kcat.append(try consumeWithKcat(topic: topic, bootstrap: broker.bootstrapAddress))
                    } catch {
                        kcatError = "\(error)"
                    }
                default:
                    break
                }
            }
        }
        await broker.shutdown()

        func rate(_ seconds: Double) -> Double { Double(recordCount) / seconds }
        let bestRivulet = rivulet.min()!
        var rows = ["| Rivulet `KafkaConsumer` | \(Format.rate(rate(bestRivulet))) | \(Format.fixed(Double(recordCount * valueSize) / bestRivulet / 1e6, 0)) | \(rivulet.map { Format.fixed($0) }.joined(separator: ", ")) |"]
        var ratio = "librdkafka could not be run: \(librdkafkaError ?? "no result")."
        if let bestLibrdkafka = librdkafka.min() {
            rows.append("| librdkafka \(librdkafkaVersion ?? "?") (confluent-kafka) | \(Format.rate(rate(bestLibrdkafka))) | \(Format.fixed(Double(recordCount * valueSize) / bestLibrdkafka / 1e6, 0)) | \(librdkafka.map { Format.fixed($0) }.joined(separator: ", ")) |")
            ratio = "Rivulet / librdkafka: **\(Format.fixed(bestLibrdkafka / bestRivulet))×** (best round against best round; target ≥ 1)."
        }
        if let bestKcat = kcat.min() {
            rows.append("| librdkafka \(kcatVersion ?? "?") in C (kcat) | \(Format.rate(rate(bestKcat))) | \(Format.fixed(Double(recordCount * valueSize) / bestKcat / 1e6, 0)) | \(kcat.map { Format.fixed($0) }.joined(separator: ", ")) |")
            ratio += " Rivulet / kcat: \(Format.fixed(bestKcat / bestRivulet))×."
        } else if let kcatError {
            ratio += " (kcat not measured: \(kcatError).)"
        }
        return """
        ## Consumer throughput

        \(Format.rate(Double(recordCount)))records of \(valueSize) bytes (9-byte keys, text-like values) in \(partitions) partitions, \
        written as lz4 batches of \(recordsPerBatch) records (\(Format.fixed(Double(bytes) / 1e6, 1)) MB on disk), read from \
        the dev broker (in the benchmark process) over loopback. Each client assigns the partitions (no group) and is \
        timed until it holds the last record; \(rounds) rounds, taking turns. Rivulet: `poll` with `maxPollRecords` \
        10000, default fetch settings. librdkafka: `Consumer.consume(num_messages=10000)` in Python, default settings \
        (each record becomes a Python object, which is part of what this client costs). kcat: librdkafka's own C \
        console consumer printing nothing per record (`-f ''`), timed as a process, start-up included. \
        MB/s counts value bytes.

        \(ratio)

        | client | records/s (best) | MB/s (best) | seconds per round |
        | --- | ---: | ---: | --- |
        \(rows.joined(separator: "\n"))
        """
    }

    // MARK: Data

    /// Writes the records as lz4 batches, several produce requests in flight; returns the bytes written.
    private static func produce(topic: String, bootstrap: String) async throws -> Int {
        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: bootstrap))
        defer { Task { await cluster.close() } }
        try await KafkaAdmin(cluster: cluster).createTopics([NewTopic(name: topic, partitions: partitions, replicationFactor: 1)])
        let leader = try await cluster.leader(for: TopicPartition(topic, 0))
        let key = ByteBuffer(string: "key-00000")
        let values = (0..<recordsPerBatch).map { RecordBatchBenchmarks.payload(size: valueSize, seed: $0) }
        var batches: [ByteBuffer] = []
        for seed in 0..<8 {
            var builder = RecordBatchBuilder(compression: .lz4, reservingCapacity: recordsPerBatch * (valueSize + 24))
            for index in 0..<recordsPerBatch {
                try builder.append(timestamp: 1_700_000_000_000 + Int64(index), key: key, value: values[(index + seed * 131) % recordsPerBatch])
            }
            batches.append(try builder.build())
        }
        let perPartition = recordCount / Int(partitions) / recordsPerBatch
        let extra = recordCount / recordsPerBatch - perPartition * Int(partitions)
        var requests: [ProduceRequest] = []
        for step in 0..<(perPartition + 1) {
            let parts = (0..<partitions).filter { step < perPartition || Int($0) < extra }
            guard !parts.isEmpty else { continue }
            requests.append(ProduceRequest(acks: 1, timeoutMs: 30_000, topicData: [ProduceRequest.TopicProduceData(
                name: topic,
                partitionData: parts.map { ProduceRequest.PartitionProduceData(index: $0, records: batches[(step + Int($0)) % batches.count]) })]))
        }
        let written = Mutex(0)
        let send: @Sendable (ProduceRequest) async throws -> Void = { request in
            let response = try await cluster.send(request, toNode: leader)
            for partition in response.responses.flatMap(\.partitionResponses) where partition.errorCode != 0 {
                throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(partition.errorCode), context: "benchmark produce"))
            }
            written.withLock { $0 += request.topicData[0].partitionData.reduce(0) { $0 + ($1.records?.readableBytes ?? 0) } }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = requests[...]
            for _ in 0..<8 {
                guard let request = pending.popFirst() else { break }
                group.addTask { try await send(request) }
            }
            while try await group.next() != nil {
                if let request = pending.popFirst() { group.addTask { try await send(request) } }
            }
        }
        return written.withLock { $0 }
    }

    // MARK: Clients

    private static func consumeWithRivulet(topic: String, bootstrap: String) async throws -> Double {
        var configuration = try ConsumerConfiguration(bootstrap: bootstrap)
        configuration.maxPollRecords = 10_000
        let consumer = KafkaConsumer(configuration: configuration)
        let start = ContinuousClock.now
        try await consumer.assign(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, $0), StartOffset.beginning) }))
        var count = 0
        var valueBytes = 0
        while count < recordCount {
            let records = try await consumer.poll(timeout: .seconds(10))
            guard !records.isEmpty else { throw BenchmarkError("Rivulet stalled after \(count) records") }
            count += records.count
            for record in records { valueBytes &+= record.value?.readableBytes ?? 0 }
        }
        let elapsed = ContinuousClock.now - start
        blackHole(valueBytes)
        await consumer.close()
        return elapsed.inSeconds
    }

    private static let librdkafkaScript = """
    import json, sys, time
    from confluent_kafka import Consumer, TopicPartition, libversion
    bootstrap, topic, partitions, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-librdkafka", "enable.auto.commit": False})
    start = time.perf_counter()
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    count = 0
    while count < total:
        messages = consumer.consume(num_messages=10000, timeout=10)
        if not messages:
            raise SystemExit(f"librdkafka stalled after {count} records")
        count += len(messages)
    elapsed = time.perf_counter() - start
    consumer.close()
    print(json.dumps({"seconds": elapsed, "records": count, "version": libversion()[0]}))
    """

    nonisolated(unsafe) private static var librdkafkaVersion: String?

    private static func consumeWithLibrdkafka(topic: String, bootstrap: String) throws -> Double {
        let environment = ProcessInfo.processInfo.environment
        let python = environment["RIVULET_BENCH_PYTHON"]
            ?? (FileManager.default.isExecutableFile(atPath: ".venv/bin/python") ? ".venv/bin/python" : "/usr/bin/env")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = (python == "/usr/bin/env" ? ["python3"] : []) + ["-c", librdkafkaScript, bootstrap, topic, "\(partitions)", "\(recordCount)"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let result = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let seconds = result["seconds"] as? Double else {
            throw BenchmarkError("librdkafka run failed (\(process.terminationStatus)): \(errorText.suffix(500))")
        }
        librdkafkaVersion = result["version"] as? String
        return seconds
    }
}

extension ConsumerBenchmarks {
    nonisolated(unsafe) private static var kcatVersion: String?

    /// kcat (librdkafka's C console client) reading every record and printing nothing.
    private static func consumeWithKcat(topic: String, bootstrap: String) throws -> Double {
        kcatVersion = try Kcat.librdkafkaVersion()
        return try Kcat.timedRun(["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-c", "\(recordCount)", "-f", "", "-q"])
    }
}


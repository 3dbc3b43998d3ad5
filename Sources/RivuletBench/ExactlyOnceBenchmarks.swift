import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore

/// The cost of exactly-once: one consume-transform-produce loop (read, upper-case, write to the
/// same partition of another topic) run exactly-once, in transactions committed every 100 ms
/// with the input offsets, and at-least-once, flushing the producer and committing the
/// consumer's offsets every 100 ms, in the same run against the same `rivulet broker` process.
///
/// Each round copies the whole input (4 partitions, 100-byte values) into a fresh output topic
/// with a fresh group; it is timed from subscribing to the last offset committed. Rounds
/// alternate between the modes and the best of each is kept.
///
/// Environment: `RIVULET_BENCH_EOS_RECORDS` (default 2,000,000), `RIVULET_BENCH_EOS_RUNS` (default 3).
struct ExactlyOnceBenchmarks: BenchmarkGroup {
    let name = "exactly-once"
    let title = "Exactly-once copy loop"

    static let partitions: Int32 = 4
    static let valueSize = 100
    static let commitInterval: Duration = .milliseconds(100)

    func run(_ context: BenchmarkContext) throws -> String {
        try runBlocking { try await measure() }
    }

    private func measure() async throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let records = Int(environment["RIVULET_BENCH_EOS_RECORDS"] ?? "") ?? 2_000_000
        let runs = Int(environment["RIVULET_BENCH_EOS_RUNS"] ?? "") ?? 3

        let broker = try DevBrokerProcess.start()
        defer { broker.stop() }
        let cluster = KafkaCluster(configuration: try ClientConfiguration(bootstrap: broker.bootstrap))
        let admin = KafkaAdmin(cluster: cluster)
        try await admin.createTopics([NewTopic(name: "eos-bench-in", partitions: Self.partitions)])
        try await Self.fillInput(bootstrap: broker.bootstrap, records: records)

        var exactlyOnce: [Double] = []
        var atLeastOnce: [Double] = []
        for run in 0..<runs {
            for transactional in run % 2 == 0 ? [true, false] : [false, true] {
                let label = "\(transactional ? "eos" : "alo")-\(run)"
                try await admin.createTopics([NewTopic(name: "eos-bench-out-\(label)", partitions: Self.partitions)])
                let seconds = try await Self.copy(bootstrap: broker.bootstrap, output: "eos-bench-out-\(label)", group: "eos-bench-\(label)",
                                                  records: records, transactional: transactional)
                try await Self.verify(admin: admin, topic: "eos-bench-out-\(label)", group: "eos-bench-\(label)", records: records)
                if transactional { exactlyOnce.append(seconds) } else { atLeastOnce.append(seconds) }
            }
            FileHandle.standardError.write(Data("  run \(run + 1): exactly-once \(Format.fixed(exactlyOnce.last!, 3)) s, at-least-once \(Format.fixed(atLeastOnce.last!, 3)) s\n".utf8))
        }
        await cluster.close()

        let best = (eos: exactlyOnce.min()!, alo: atLeastOnce.min()!)
        let machine = MachineInfo.current()
        func rate(_ seconds: Double) -> Double { Double(records) / seconds }
        return """
        ## Exactly-once copy loop

        \(Format.rate(Double(records)))records of \(Self.valueSize) bytes in \(Self.partitions) partitions copied by one \
        consume-transform-produce loop (poll, upper-case each value, `sendAndForget` to the same partition of another \
        topic) from and to a `rivulet broker` process over loopback. Exactly-once: a transactional producer, the \
        consumer at read_committed, and every 100 ms \
        `sendOffsetsToTransaction` + `commitTransaction`. At-least-once: an idempotent producer and every \
        100 ms `flush` + `commit` of the consumer's offsets. Timed from subscribing to the last offset committed; \
        \(runs) rounds each, alternating, best kept. Measured \(machine.date) on \(machine.cpuModel), \
        \(machine.cores) cores, \(machine.system).

        Exactly-once / at-least-once throughput: **\(Format.fixed(best.alo / best.eos))** (target ≥ 0.80).

        | loop | records/s (best) | seconds per round |
        | --- | ---: | --- |
        | exactly-once (transactions every 100 ms) | \(Format.rate(rate(best.eos))) | \(exactlyOnce.map { Format.fixed($0, 3) }.joined(separator: ", ")) |
        | at-least-once (commit every 100 ms) | \(Format.rate(rate(best.alo))) | \(atLeastOnce.map { Format.fixed($0, 3) }.joined(separator: ", ")) |
        """
    }

    /// Writes the input with a plain idempotent producer, `i % partitions` to partition i.
    private static func fillInput(bootstrap: String, records: Int) async throws {
        var configuration = try ProducerConfiguration(bootstrap: bootstrap)
        configuration.deliveryReports = .failuresOnly
        configuration.compression = .lz4
        let producer = try await KafkaProducer.make(configuration: configuration)
        let filler = String(repeating: "x", count: valueSize - 24)
        for i in 0..<records {
            let value = "record-\(String(i).leftPadded(to: 9)) \(filler)"
            try await producer.sendAndForget(ProducerRecord(topic: "eos-bench-in", partition: Int32(i) % partitions, value: value))
        }
        try await producer.flush()
        await producer.close()
        var failures = 0
        for await _ in producer.deliveryReports { failures += 1 }
        guard failures == 0 else { throw BenchmarkError("\(failures) input records not delivered") }
    }

    /// One run of the loop over the whole input; returns the seconds it took.
    private static func copy(bootstrap: String, output: String, group: String, records: Int, transactional: Bool) async throws -> Double {
        var producerConfiguration = try ProducerConfiguration(bootstrap: bootstrap)
        producerConfiguration.deliveryReports = .none
        if transactional { producerConfiguration.transactionalId = "eos-bench-\(group)" }
        let producer = try await KafkaProducer.make(configuration: producerConfiguration)
        if transactional { try await producer.initTransactions() }
        var consumerConfiguration = try ConsumerConfiguration(bootstrap: bootstrap, groupId: group)
        consumerConfiguration.enableAutoCommit = false
        consumerConfiguration.autoOffsetReset = .earliest
        consumerConfiguration.maxPollRecords = 2_000
        if transactional { consumerConfiguration.isolationLevel = .readCommitted }
        let consumer = KafkaConsumer(configuration: consumerConfiguration)

        let start = ContinuousClock.now
        try await consumer.subscribe(topics: ["eos-bench-in"])
        var offsets: [TopicPartition: OffsetAndMetadata] = [:]
        var copied = 0
        var committed = 0
        var lastCommit = ContinuousClock.now
        var inTransaction = false
        while committed < records {
            let polled = try await consumer.poll(timeout: .milliseconds(20))
            for record in polled {
                if transactional && !inTransaction {
                    try producer.beginTransaction()
                    inTransaction = true
                }
                let upper = record.value.map { ByteBuffer(string: String(buffer: $0).uppercased()) }
                try await producer.sendAndForget(ProducerRecord(topic: output, partition: record.partition, key: record.key, value: upper))
                offsets[record.topicPartition] = OffsetAndMetadata(offset: record.offset + 1)
                copied += 1
            }
            let due = ContinuousClock.now - lastCommit >= commitInterval || copied == records
            guard due, copied > committed else { continue }
            if transactional {
                guard let metadata = await consumer.groupMetadata() else { throw BenchmarkError("no group metadata") }
                try await producer.sendOffsetsToTransaction(offsets, groupMetadata: metadata)
                try await producer.commitTransaction()
                inTransaction = false
            } else {
                try await producer.flush()
                try await consumer.commit(offsets)
            }
            committed = copied
            lastCommit = .now
        }
        let elapsed = ContinuousClock.now - start
        await consumer.close()
        await producer.close()
        return elapsed.inSeconds
    }

    /// Every input record reached the output, and the group committed the whole input.
    private static func verify(admin: KafkaAdmin, topic: String, group: String, records: Int) async throws {
        let ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, $0), OffsetSpec.latest) }))
        let written = ends.values.reduce(Int64(0)) { $0 + $1.offset }
        let committed = try await admin.committedOffsets(group: group).values.reduce(0, +)
        // Transaction markers take one offset each in the output.
        guard written >= Int64(records), committed == Int64(records) else {
            throw BenchmarkError("\(topic): \(written) offsets written, \(committed) committed, expected \(records)")
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

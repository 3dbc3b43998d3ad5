import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import Logging
import NIOCore
import Synchronization

/// `rivulet consume`: prints a topic's records, alone or as a member of a consumer group.
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print the records of a topic, alone or as a member of a consumer group.",
        discussion: """
        Without --group every partition is read (from the end, or the beginning with
        --from-beginning). With --group the consumer joins the group, reads what it is
        assigned and commits automatically; SIGINT or SIGTERM leaves the group cleanly.
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        /// The value, preceded by the key with --print-key.
        case text
        /// One JSON object per record; key, value and header values base64-encoded.
        case json
    }

    @Argument(help: "The topic to read.")
    var topic: String

    @Option(help: "Bootstrap servers, host:port[,host:port...].")
    var bootstrap = "localhost:9092"

    @Option(help: "Consumer group to join (group.id).")
    var group: String?

    @Option(help: "Static membership: group.instance.id.")
    var groupInstanceId: String?

    @Flag(help: "Start from the oldest record when there is no committed offset (auto.offset.reset=earliest).")
    var fromBeginning = false

    @Option(help: "read_uncommitted or read_committed.")
    var isolation = "read_uncommitted"

    @Option(help: "Exit after printing this many records.")
    var maxMessages: Int?

    @Option(help: "Exit when no record arrives for this many milliseconds.")
    var timeoutMs: Int?

    @Flag(help: "Print each record's key before its value (text format).")
    var printKey = false

    @Option(help: "Separator between key and value (text format).")
    var keySeparator = "\t"

    @Option(help: "Partition assignors, preferred first, comma-separated: range, roundrobin, sticky, cooperative-sticky.")
    var assignor = "range,cooperative-sticky"

    @Flag(help: "Report assignment changes on stderr, one JSON object per line, before they take effect.")
    var printAssignments = false

    @Option(help: "Output format: text or json.")
    var format = Format.text

    @Option(help: "session.timeout.ms.")
    var sessionTimeoutMs: Int64 = 45_000

    @Option(help: "heartbeat.interval.ms.")
    var heartbeatIntervalMs: Int64 = 3_000

    @Option(help: "auto.commit.interval.ms.")
    var autoCommitIntervalMs: Int64 = 5_000

    @Option(help: "Log level on stderr: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "warning"

    func validate() throws {
        guard IsolationLevel(rawValue: isolation) != nil else {
            throw ValidationError("--isolation must be read_uncommitted or read_committed")
        }
        _ = try assignors()
    }

    private func assignors() throws -> [any PartitionAssignor] {
        try assignor.split(separator: ",").map { name -> any PartitionAssignor in
            switch name.trimmingCharacters(in: .whitespaces) {
            case "range": return RangeAssignor()
            case "roundrobin": return RoundRobinAssignor()
            case "sticky": return StickyAssignor()
            case "cooperative-sticky": return CooperativeStickyAssignor()
            default: throw ValidationError("unknown assignor '\(name)'")
            }
        }
    }

    func run() async throws {
        var logger = Logger(label: "rivulet.consume", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
        var configuration = try ConsumerConfiguration(bootstrap: bootstrap, groupId: group)
        configuration.client.clientId = "rivulet-consume"
        configuration.groupInstanceId = groupInstanceId
        configuration.autoOffsetReset = fromBeginning ? .earliest : .latest
        configuration.isolationLevel = IsolationLevel(rawValue: isolation)!
        configuration.assignors = try assignors()
        configuration.sessionTimeout = .milliseconds(sessionTimeoutMs)
        configuration.heartbeatInterval = .milliseconds(heartbeatIntervalMs)
        configuration.autoCommitInterval = .milliseconds(autoCommitIntervalMs)
        configuration.maxPollRecords = 10_000

        let consumer = KafkaConsumer(configuration: configuration, logger: logger)
        if group != nil {
            try await consumer.subscribe(topics: [topic], listener: printAssignments ? Self.assignmentPrinter() : nil)
        } else {
            let cluster = KafkaCluster(configuration: configuration.client, logger: logger)
            let partitions = try await cluster.partitions(of: topic)
            await cluster.close()
            let start: StartOffset = fromBeginning ? .beginning : .end
            try await consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { (TopicPartition(topic, $0.partition), start) }))
        }

        let stop = StopFlag()
        let signals = Task {
            await SignalWaiter.waitForTermination()
            stop.set()
        }
        defer { signals.cancel() }
        do {
            try await consume(consumer, until: stop)
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    private func consume(_ consumer: KafkaConsumer, until stop: StopFlag) async throws {
        var printed = 0
        var lastRecordAt = ContinuousClock.now
        while !stop.isSet {
            let records = try await consumer.poll(timeout: .milliseconds(200))
            if records.isEmpty {
                if let timeoutMs, ContinuousClock.now - lastRecordAt >= .milliseconds(timeoutMs) { return }
                continue
            }
            lastRecordAt = .now
            let take = min(records.count, maxMessages.map { $0 - printed } ?? records.count)
            var output = ByteBuffer()
            for record in records[..<take] { write(record, to: &output) }
            FileHandle.standardOutput.write(Data(output.readableBytesView))
            printed += take
            if take < records.count {
                // Rewind to the first record not printed, so the final commit does not skip it.
                var firstUnprinted: [TopicPartition: Int64] = [:]
                for record in records[take...] where firstUnprinted[record.topicPartition] == nil {
                    firstUnprinted[record.topicPartition] = record.offset
                }
                for (partition, offset) in firstUnprinted { try await consumer.seek(partition, to: offset) }
            }
            if let maxMessages, printed >= maxMessages { return }
        }
    }

    private func write(_ record: ConsumerRecord, to output: inout ByteBuffer) {
        switch format {
        case .text:
            if printKey {
                if let key = record.key { output.writeImmutableBuffer(key) }
                output.writeString(keySeparator)
            }
            if let value = record.value { output.writeImmutableBuffer(value) }
            output.writeString("\n")
        case .json:
            let object: [String: Any] = [
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "timestamp": record.timestamp,
                "timestampType": record.timestampType == .createTime ? "CreateTime" : "LogAppendTime",
                "key": Self.base64(record.key) ?? NSNull(),
                "value": Self.base64(record.value) ?? NSNull(),
                "headers": record.headers.map { [$0.key, Self.base64($0.value) ?? NSNull()] as [Any] },
            ]
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                output.writeBytes(data)
                output.writeString("\n")
            }
        }
    }

    private static func base64(_ buffer: ByteBuffer?) -> String? {
        buffer.map { Data($0.readableBytesView).base64EncodedString() }
    }

    /// Prints each assignment change on stderr inside the listener, so the line is out before
    /// the partitions move on.
    private static func assignmentPrinter() -> RebalanceListener {
        @Sendable func report(_ event: String, _ partitions: [TopicPartition]) {
            let object: [String: Any] = [
                "rebalance": event,
                "partitions": partitions.map { ["topic": $0.topic, "partition": $0.partition] as [String: Any] },
            ]
            guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
            data.append(0x0A)
            FileHandle.standardError.write(data)
        }
        return RebalanceListener(
            onAssigned: { report("assigned", $0) },
            onRevoked: { report("revoked", $0) },
            onLost: { report("lost", $0) })
    }
}

/// Set once by the signal handler; read by the consume loop.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

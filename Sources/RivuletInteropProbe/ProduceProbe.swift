import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore

/// `produce`: one JSON record per input line, one JSON result per output line, in input order.
///
/// Input: `{"topic": "t", "partition": 0?, "key": base64?, "value": base64?, "headers": [{"key": "k", "value": base64?}], "timestamp": ms?}`
/// Output: `{"partition": p, "offset": o, "timestamp": t}` or `{"error": "recordTooLarge", "description": "..."}`.
///
/// Lines are read in groups of `--window` records sent concurrently; `--sequential` sends one
/// at a time, so that a line's outcome is known before the next is sent.
struct ProduceProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "produce", abstract: "Send JSON-line records, print their outcomes.")

    @OptionGroup var producer: ProducerOptions
    @Option(help: "Records sent concurrently.") var window = 2000
    @Flag(help: "Send one record at a time.") var sequential = false

    struct Header: Decodable {
        var key: String
        var value: Data?
    }

    struct Input: Decodable {
        var topic: String
        var partition: Int32?
        var key: Data?
        var value: Data?
        var headers: [Header]?
        var timestamp: Int64?

        var record: ProducerRecord {
            ProducerRecord(
                topic: topic, partition: partition, key: key.map { ByteBuffer(bytes: $0) }, value: value.map { ByteBuffer(bytes: $0) },
                headers: (headers ?? []).map { RecordHeader(key: $0.key, value: $0.value.map { ByteBuffer(bytes: $0) }) },
                timestamp: timestamp)
        }
    }

    func run() async throws {
        var configuration = try producer.configuration()
        configuration.deliveryReports = .none
        let kafka = try await KafkaProducer.make(configuration: configuration)
        let decoder = JSONDecoder()
        var pending: [ProducerRecord] = []
        func sendPending() async {
            let results = await withTaskGroup(of: (Int, String).self) { group in
                for (index, record) in pending.enumerated() {
                    group.addTask { (index, Self.describe(await Self.outcome(of: record, on: kafka))) }
                }
                var lines = Array(repeating: "", count: pending.count)
                for await (index, line) in group { lines[index] = line }
                return lines
            }
            // Unbuffered: an interactive test reads each outcome before writing the next line.
            FileHandle.standardOutput.write(Data(results.map { $0 + "\n" }.joined().utf8))
            pending.removeAll()
        }
        while let line = readLine() {
            guard !line.isEmpty else { continue }
            pending.append(try decoder.decode(Input.self, from: Data(line.utf8)).record)
            if sequential || pending.count >= window { await sendPending() }
        }
        await sendPending()
        await kafka.close()
    }

    static func outcome(of record: ProducerRecord, on producer: KafkaProducer) async -> Result<RecordMetadata, KafkaProducerError> {
        do throws(KafkaProducerError) {
            return .success(try await producer.send(record))
        } catch {
            return .failure(error)
        }
    }

    static func describe(_ outcome: Result<RecordMetadata, KafkaProducerError>) -> String {
        let object: [String: Any]
        switch outcome {
        case .success(let metadata):
            object = ["partition": metadata.partition, "offset": metadata.offset, "timestamp": metadata.timestamp]
        case .failure(let error):
            object = ["error": error.kind, "description": error.description]
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

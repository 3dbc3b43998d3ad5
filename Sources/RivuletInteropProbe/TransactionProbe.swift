import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore

/// `transact`: a transactional producer driven one JSON command per input line, answering each
/// with one JSON line before reading the next, so a test can interleave it with other clients.
///
/// Commands: `{"op": "init"}`, `{"op": "begin"}`, `{"op": "send", "topic": "t", "values": ["a", "b"], "partition": 0?}`
/// (`sendAndForget` of each value), `{"op": "flush"}`, `{"op": "commit"}`, `{"op": "abort"}`, `{"op": "close"}`.
/// Answers: `{"ok": true, "state": "ready"}` or
/// `{"ok": false, "error": "transactionFatal", "fatal": true, "abortable": false, "description": "...", "state": "fatalError"}`.
struct TransactionProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transact", abstract: "Drive a transactional producer from JSON-line commands.")

    @OptionGroup var producer: ProducerOptions
    @Option(name: .customLong("transactional-id")) var transactionalId: String
    @Option(help: "transaction.timeout.ms") var transactionTimeoutMs = 60_000

    struct Command: Decodable {
        var op: String
        var topic: String?
        var values: [String]?
        var partition: Int32?
    }

    func run() async throws {
        var configuration = try producer.configuration()
        configuration.transactionalId = transactionalId
        configuration.transactionTimeout = .milliseconds(transactionTimeoutMs)
        configuration.deliveryReports = .none
        let kafka = try await KafkaProducer.make(configuration: configuration)
        let decoder = JSONDecoder()
        while let line = readLine() {
            guard !line.isEmpty else { continue }
            let command = try decoder.decode(Command.self, from: Data(line.utf8))
            var answer: [String: Any] = ["ok": true]
            do throws(KafkaProducerError) {
                switch command.op {
                case "init": try await kafka.initTransactions()
                case "begin": try kafka.beginTransaction()
                case "send":
                    for value in command.values ?? [] {
                        try await kafka.sendAndForget(ProducerRecord(topic: command.topic ?? "", partition: command.partition, value: ByteBuffer(string: value)))
                    }
                case "flush": try await kafka.flush()
                case "commit": try await kafka.commitTransaction()
                case "abort": try await kafka.abortTransaction()
                case "close":
                    await kafka.close()
                    Self.write(["ok": true])
                    return
                default:
                    throw KafkaProducerError.invalidConfiguration("unknown op '\(command.op)'")
                }
            } catch {
                answer = ["ok": false, "error": error.kind, "fatal": error.isFatal, "abortable": error.requiresAbort,
                          "description": error.description]
            }
            answer["state"] = kafka.transactionState?.rawValue ?? "none"
            Self.write(answer)
        }
        await kafka.close()
    }

    private static func write(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

import ArgumentParser
import Foundation
import KafkaClient
import KafkaProtocol
import NIOCore

/// `rivulet produce TOPIC`: one record per line of standard input.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send each line of standard input as a record.",
        discussion: """
            With --key-separator, the text before the first separator is the key and the rest the value;
            lines without the separator have no key. Exits non-zero if any record was not delivered.
            """
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "Topic to send to.") var topic: String
    @Option(help: "Partition for every record (default: chosen by key).") var partition: Int32?
    @Option(help: "Split each line into key and value at the first occurrence of this text.") var keySeparator: String?
    @Option(help: "none, gzip, snappy, lz4 or zstd.") var compression = "none"
    @Option(help: "0, 1 or all (0 and 1 turn idempotence off).") var acks = "all"
    @Option(help: "linger.ms: how long a batch waits for more records.") var lingerMs = 5

    func run() async throws {
        guard let codec = CompressionCodec.allCases.first(where: { $0.description == compression }) else {
            throw ValidationError("--compression must be none, gzip, snappy, lz4 or zstd")
        }
        guard let acks = Acks(parsing: acks) else { throw ValidationError("--acks must be 0, 1 or all") }
        if let keySeparator, keySeparator.isEmpty { throw ValidationError("--key-separator must not be empty") }

        var configuration = ProducerConfiguration(client: try ClientConfiguration(bootstrap: client.bootstrap))
        configuration.client.clientId = client.clientId
        configuration.compression = codec
        configuration.acks = acks
        configuration.enableIdempotence = acks == .all
        configuration.linger = .milliseconds(lingerMs)
        configuration.deliveryReports = .failuresOnly
        let producer = try await KafkaProducer.make(configuration: configuration)

        let failures = Task {
            var count = 0
            for await report in producer.deliveryReports {
                if case .failure(let error) = report.result {
                    count += 1
                    FileHandle.standardError.write(Data("not delivered: \(error)\n".utf8))
                }
            }
            return count
        }
        var sent = 0
        var refused = 0
        while let line = readLine(strippingNewline: true) {
            var key: String?
            var value = Substring(line)
            if let keySeparator, let range = line.range(of: keySeparator) {
                key = String(line[..<range.lowerBound])
                value = line[range.upperBound...]
            }
            do {
                try await producer.sendAndForget(ProducerRecord(topic: topic, partition: partition, key: key, value: String(value)))
                sent += 1
            } catch {
                refused += 1
                FileHandle.standardError.write(Data("refused: \(error)\n".utf8))
            }
        }
        try await producer.flush()
        await producer.close()
        let failed = await failures.value + refused
        FileHandle.standardError.write(Data("\(sent - (failed - refused)) of \(sent + refused) records delivered to \(topic)\n".utf8))
        if failed > 0 { throw ExitCode.failure }
    }
}

import ArgumentParser
import Foundation
import KafkaClient
import NIOCore

/// `stream`: sends the values "0" ..< count with `sendAndForget`, paced, and prints each
/// delivery as it is reported: `ack VALUE PARTITION OFFSET` or `error VALUE KIND`, then `done`.
/// The interop tests kill and restart the broker meanwhile.
struct StreamProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stream", abstract: "Send numbered values, print delivery reports.")

    @OptionGroup var producer: ProducerOptions
    @Option(help: "Topic to send to.") var topic: String
    @Option(help: "How many values.") var count: Int
    @Option(help: "Pause after every 100 values, in milliseconds.") var pauseMs = 10

    func run() async throws {
        var configuration = try producer.configuration()
        configuration.deliveryReports = .all
        let kafka = try await KafkaProducer.make(configuration: configuration)
        let printer = Task {
            for await report in kafka.deliveryReports {
                let value = report.record.value.map { String(buffer: $0) } ?? "?"
                switch report.result {
                case .success(let metadata): emit("ack \(value) \(metadata.partition) \(metadata.offset)")
                case .failure(let error): emit("error \(value) \(error.kind)")
                }
            }
        }
        for i in 0..<count {
            try await kafka.sendAndForget(ProducerRecord(topic: topic, key: "k\(i % 64)", value: "\(i)"))
            if i % 100 == 99 && pauseMs > 0 { try await Task.sleep(for: .milliseconds(pauseMs)) }
        }
        try await kafka.flush()
        await kafka.close()
        await printer.value
        emit("done")
    }

    /// Unbuffered, so the test sees acknowledgements as they happen, even if the probe is killed.
    private func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

// A Kafka protocol round trip with Rivulet's own codecs, against the dev broker run in-process:
// ApiVersions, CreateTopics, Produce (an lz4 record batch), Fetch, and the records decoded back.
//
//     swift run ProtocolRoundTrip            # or: make demo
//     swift run ProtocolRoundTrip host:port  # against a running broker instead
import Foundation
import KafkaBroker
import KafkaClient
import KafkaProtocol
import NIOCore

@main
struct ProtocolRoundTrip {
    static func main() async throws {
        var broker: EmbeddedBroker?
        var dataDirectoryToRemove: String?
        let address: BrokerAddress
        if CommandLine.arguments.count > 1 {
            address = try BrokerAddress(parsing: CommandLine.arguments[1])
        } else {
            let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rivulet-demo-\(UUID().uuidString)").path
            var configuration = BrokerConfiguration(dataDirectory: dataDirectory)
            configuration.port = 0
            broker = try await EmbeddedBroker.start(configuration)
            dataDirectoryToRemove = dataDirectory
            address = BrokerAddress(host: "127.0.0.1", port: broker!.port)
            print("started the dev broker on \(address), data in \(dataDirectory)")
        }

        let connection = try await KafkaConnection.connect(to: address)
        let produceVersion = connection.negotiatedVersion(for: ProduceRequest.self) ?? -1
        let fetchVersion = connection.negotiatedVersion(for: FetchRequest.self) ?? -1
        print("ApiVersions: \(connection.apiVersions.ranges.count) APIs; Produce v\(produceVersion), Fetch v\(fetchVersion)")

        let topic = "demo-\(Int.random(in: 1000...9999))"
        let created = try await connection.send(CreateTopicsRequest(
            topics: [.init(name: topic, numPartitions: 1, replicationFactor: 1)], timeoutMs: 10_000))
        print("CreateTopics \(topic): \(KafkaErrorCode(created.topics[0].errorCode))")

        // One batch of five records, lz4-compressed, with a header each.
        var builder = RecordBatchBuilder(compression: .lz4)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (i, word) in ["the", "quick", "brown", "fox", "jumps"].enumerated() {
            try builder.append(timestamp: now + Int64(i), key: ByteBuffer(string: "k\(i)"), value: ByteBuffer(string: word),
                               headers: [RecordHeader(key: "position", value: ByteBuffer(string: String(i)))])
        }
        let produced = try await connection.send(ProduceRequest(acks: -1, timeoutMs: 10_000, topicData: [
            .init(name: topic, partitionData: [.init(index: 0, records: try builder.build())]),
        ]))
        let partitionResult = produced.responses[0].partitionResponses[0]
        print("Produce: \(KafkaErrorCode(partitionResult.errorCode)), base offset \(partitionResult.baseOffset)")

        let fetched = try await connection.send(FetchRequest(maxWaitMs: 500, minBytes: 1, topics: [
            .init(topic: topic, partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)]),
        ]))
        let data = fetched.responses[0].partitions[0]
        print("Fetch: \(KafkaErrorCode(data.errorCode)), high watermark \(data.highWatermark)")
        var reader = RecordSetReader(data.records ?? ByteBuffer())
        try reader.forEachRecord { record in
            let header = record.headers.first.map { "\($0.key)=\(String(buffer: $0.value ?? ByteBuffer()))" } ?? ""
            print("  offset \(record.offset)  key \(String(buffer: record.key ?? ByteBuffer()))  value \(String(buffer: record.value ?? ByteBuffer()))  \(header)")
        }

        await connection.close()
        await broker?.shutdown()
        if broker != nil, let directory = dataDirectoryToRemove { try? FileManager.default.removeItem(atPath: directory) }
        print("round trip complete")
    }
}

import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// The metadata cache is refreshed on `metadataMaxAge`: partitions another client adds are
/// used by a running producer without a restart.
@Suite struct MetadataRefreshTests {
    @Test func aRunningProducerSeesPartitionsAddedElsewhereAfterMetadataMaxAge() async throws {
        let broker = try await TestBroker.start()
        try await broker.createTopic("growing", partitions: 1)
        let producer = try await KafkaProducer.make(configuration: try ProducerConfiguration.testing(broker.bootstrap) {
            $0.client.metadataMaxAge = .milliseconds(300)
        })
        let keys = (0..<60).map { "key-\($0)" }
        for key in keys {
            #expect(try await producer.send(ProducerRecord(topic: "growing", key: key, value: "before")).partition == 0)
        }

        // Another client grows the topic to 4 partitions.
        let admin = KafkaCluster(configuration: try ClientConfiguration(bootstrap: broker.bootstrap))
        try await KafkaAdmin(cluster: admin).createPartitions(topic: "growing", totalCount: 4)
        await admin.close()
        try await Task.sleep(for: .milliseconds(800))

        var placed: Set<Int32> = []
        for key in keys { placed.insert(try await producer.send(ProducerRecord(topic: "growing", key: key, value: "after")).partition) }
        #expect(placed == [0, 1, 2, 3], "keys still placed on \(placed.sorted()) only")
        await producer.close()
        await broker.shutdown()
    }
}

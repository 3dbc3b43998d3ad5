import Foundation
import KafkaClient
import KafkaProtocol
import Logging
import NIOCore
@testable import Rivulet
import Testing

/// `StreamsProducer` against a dev broker: a commit never carries input offsets past an output
/// the broker refused, and changelog offsets come from the broker's acknowledgements.
@Suite(.serialized) struct StreamsProducerTests {
    private func makeProducer(_ cluster: StreamsTestCluster) async throws -> StreamsProducer {
        var configuration = try ProducerConfiguration(bootstrap: cluster.bootstrap)
        configuration.linger = .milliseconds(1)
        configuration.allowAutoTopicCreation = false
        return try await StreamsProducer.make(configuration: configuration, logger: Logger(label: "streams-producer-test"))
    }

    @Test func aCommitAfterARefusedOutputFailsAndCommitsNoOffsets() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("input", partitions: 1)
        // Every record of this test is larger than the topic accepts: the broker refuses each batch.
        try await kafka.admin.createTopics([NewTopic(name: "narrow", partitions: 1, replicationFactor: 1,
                                                     configs: ["max.message.bytes": "200"])])
        let large = ByteBuffer(repeating: 0x61, count: 1_000)
        // The commit follows the flush at once, as in the stream thread; repeated, so that a
        // failure learned after the flush returned would show up.
        for round in 0..<10 {
            let producer = try await makeProducer(kafka)
            var configuration = try ConsumerConfiguration(bootstrap: kafka.bootstrap)
            configuration.groupId = "refused-output"
            configuration.enableAutoCommit = false
            let consumer = KafkaConsumer(configuration: configuration)
            try await producer.send(contentsOf: [ProducerRecord(topic: "narrow", partition: 0, key: ByteBuffer(string: "k"), value: large)])
            await #expect(throws: StreamsError.self, "round \(round)") {
                try await producer.commit([TopicPartition("input", 0): Int64(round + 1)], through: consumer)
            }
            await consumer.close()
            await producer.close()
        }
        #expect(try await kafka.admin.committedOffsets(group: "refused-output").isEmpty)
        // The same commit after an output the broker takes goes through.
        let producer = try await makeProducer(kafka)
        var configuration = try ConsumerConfiguration(bootstrap: kafka.bootstrap)
        configuration.groupId = "refused-output"
        configuration.enableAutoCommit = false
        let consumer = KafkaConsumer(configuration: configuration)
        try await producer.send(contentsOf: [ProducerRecord(topic: "narrow", partition: 0, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "small"))])
        try await producer.commit([TopicPartition("input", 0): 5], through: consumer)
        #expect(try await kafka.admin.committedOffsets(group: "refused-output") == [TopicPartition("input", 0): 5])
        await consumer.close()
        await producer.close()
    }

    @Test func acknowledgedOffsetsAreTheLastOffsetsWrittenPerPartition() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("changelog", partitions: 2)
        try await kafka.createTopic("other", partitions: 1)
        // Someone else writes first: offsets count from theirs.
        try await kafka.produce("changelog", [(key: "x", value: "1"), (key: "y", value: "2"), (key: "z", value: "3")])
        let producer = try await makeProducer(kafka)
        for index in 0..<7 {
            try await producer.send(contentsOf: [ProducerRecord(topic: "changelog", partition: Int32(index % 2), key: ByteBuffer(string: "k\(index)"), value: ByteBuffer(string: "v"))])
        }
        try await producer.send(contentsOf: [ProducerRecord(topic: "other", partition: 0, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"))])
        try await producer.flush()
        let partitions = [TopicPartition("changelog", 0), TopicPartition("changelog", 1)]
        let ends = try await kafka.admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, OffsetSpec.latest) }))
        #expect(producer.acknowledgedOffsets(of: ["changelog"]) == ends.mapValues { $0.offset - 1 })
        await producer.close()
    }

    @Test func discardingATasksPendingRecordsKeepsEveryOtherTasksInOrder() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("out", partitions: 1)
        let producer = try await makeProducer(kafka)
        let collector = KafkaRecordCollector(producer: producer, changelogTopics: [])
        let (a, b, c) = (TaskId(subtopology: 0, partition: 0), TaskId(subtopology: 0, partition: 1), TaskId(subtopology: 1, partition: 0))
        let writers = [a: collector.forTask(a), b: collector.forTask(b), c: collector.forTask(c)]
        let order: [(TaskId, String)] = [(a, "a1"), (b, "b1"), (b, "b2"), (a, "a2"), (c, "c1"), (a, "a3"), (b, "b3")]
        for (task, value) in order {
            try writers[task]!.send(topic: "out", partition: 0, timestamp: 1, key: nil, value: ByteBuffer(string: value), headers: [])
        }
        collector.discardPending(of: [a])
        try await collector.acknowledge()
        let written = try await kafka.readAll("out").map { String(buffer: $0.value!) }
        #expect(written == order.filter { $0.0 != a }.map(\.1))
        await producer.close()
    }

    /// Drains hand records over without waiting for the drains before them: a record the
    /// producer refuses still stops everything after it, in its drain and in later ones, and
    /// the failure comes back from a later drain or the commit's acknowledge.
    @Test func aRecordThatCannotBeSentStopsEveryLaterRecordAndFailsTheCommit() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("out", partitions: 1)
        let producer = try await makeProducer(kafka)
        let collector = KafkaRecordCollector(producer: producer, changelogTopics: [])
        func send(_ value: String, partition: Int32 = 0) throws {
            try collector.send(topic: "out", partition: partition, timestamp: 1, key: nil, value: ByteBuffer(string: value), headers: [])
        }
        try send("before")
        try send("refused", partition: 5)
        try send("after, same drain")
        try await collector.drain()
        var failures = 0
        for round in 0..<(KafkaRecordCollector.maxHandovers + 2) {
            try send("after, drain \(round)")
            do { try await collector.drain() } catch { failures += 1 }
        }
        await #expect(throws: StreamsError.self) { try await collector.acknowledge() }
        #expect(failures > 0, "the failure was not surfaced by a later drain")
        try await producer.flush()
        let written = try await kafka.readAll("out").map { String(buffer: $0.value!) }
        #expect(written == ["before"])
        await producer.close()
    }

    /// The runtime end to end: an output the broker refuses stops the application, and the
    /// input offsets of the records behind it are never committed.
    @Test func anApplicationWhoseOutputIsRefusedStopsWithoutCommittingItsInput() async throws {
        let kafka = try await StreamsTestCluster.start()
        defer { Task { await kafka.stop() } }
        try await kafka.createTopic("commands", partitions: 1)
        try await kafka.admin.createTopics([NewTopic(name: "narrow", partitions: 1, replicationFactor: 1,
                                                     configs: ["max.message.bytes": "200"])])
        let builder = StreamsBuilder()
        builder.stream("commands", Consumed.with(.string, .string))
            .mapValues { value in String(repeating: value, count: 1_000) }
            .to("narrow", Produced.with(.string, .string))
        let streams = KafkaStreams(try builder.build(), kafka.config("refused-app"))
        try await streams.start()
        try await kafka.produce("commands", [(key: "a", value: "x")])
        #expect(try await eventually { streams.state == .error })
        guard case .send? = streams.failure as? StreamsError else {
            Issue.record("expected a send failure, got \(String(describing: streams.failure))")
            return
        }
        #expect(try await kafka.admin.committedOffsets(group: "refused-app").isEmpty)
        await streams.close()
    }
}

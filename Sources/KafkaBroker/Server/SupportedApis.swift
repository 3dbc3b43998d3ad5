import KafkaProtocol

/// The API versions the dev broker serves: the versions current librdkafka, kafka-python and
/// Java 3.x/4.x clients use. Floors follow Kafka 4.0, which dropped the oldest versions;
/// Fetch stops before v13, where topics are named by id only.
enum SupportedApis {
    static let ranges: [(KafkaApiKey, ClosedRange<Int16>)] = [
        (.produce, 3...11),
        (.fetch, 4...12),
        (.listOffsets, 1...8),
        (.metadata, 0...12),
        (.apiVersions, 0...4),
        (.createTopics, 2...7),
        (.deleteTopics, 1...6),
        (.createPartitions, 0...3),
        (.describeConfigs, 1...4),
        (.deleteRecords, 0...2),
        (.findCoordinator, 0...5),
        (.joinGroup, 0...9),
        (.syncGroup, 0...5),
        (.heartbeat, 0...4),
        (.leaveGroup, 0...5),
        (.offsetCommit, 2...9),
        (.offsetFetch, 1...9),
        (.describeGroups, 0...5),
        (.listGroups, 0...4),
        (.initProducerId, 0...4),
        (.addPartitionsToTxn, 0...3),
        (.addOffsetsToTxn, 0...3),
        (.endTxn, 0...3),
        (.txnOffsetCommit, 0...3),
    ]

    static func range(for key: KafkaApiKey) -> ClosedRange<Int16>? {
        ranges.first { $0.0 == key }?.1
    }
}

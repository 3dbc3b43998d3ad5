import KafkaProtocol

/// What the producer knows of one topic: its partitions, their leaders and queues.
/// Only touched under the accumulator's lock.
final class ProducerTopic {
    let name: String
    private(set) var queues: [PartitionQueue] = []
    /// Partitions with a leader, for partitioners that avoid unavailable ones.
    private(set) var availablePartitions: [Int32] = []
    /// The topic's error in the last metadata (UNKNOWN_TOPIC_OR_PARTITION once deleted).
    private(set) var error: KafkaErrorCode = .noError
    /// Where keyless records go until that partition's batch is sent (KIP-480), for the
    /// built-in partitioners; then another partition is chosen, so batches fill one at a time.
    private var stickyPartition: Int32?
    private var previousStickyPartition: Int32?

    init(name: String) {
        self.name = name
    }

    var partitionCount: Int32 { Int32(queues.count) }

    /// The sticky partition, choosing one at random (preferring partitions with a leader, and
    /// another than the last one) when there is none.
    func stickyChoice() -> Int32 {
        if let stickyPartition, stickyPartition < partitionCount { return stickyPartition }
        var candidates = availablePartitions.isEmpty ? Array(0..<partitionCount) : availablePartitions
        if candidates.count > 1, let previous = previousStickyPartition { candidates.removeAll { $0 == previous } }
        let chosen = candidates.randomElement() ?? 0
        stickyPartition = chosen
        return chosen
    }

    /// A batch of `partition` was closed: keyless records move on if it was the sticky one.
    func batchClosed(partition: Int32) {
        guard stickyPartition == partition else { return }
        previousStickyPartition = partition
        stickyPartition = nil
    }

    /// Applies fresh metadata. Partitions are only ever added: Kafka never removes them, and a
    /// shorter list means a transient answer (the topic being created, or deleted and recreated).
    func update(_ topic: ClusterMetadata.Topic?) {
        guard let topic else { return }
        error = topic.error
        guard topic.error == .noError else {
            for queue in queues { queue.lastFailure = .broker(topic.error, message: "topic metadata") }
            return
        }
        for partition in topic.partitions where partition.partition >= 0 {
            while queues.count <= Int(partition.partition) {
                queues.append(PartitionQueue(TopicPartition(topic: name, partition: Int32(queues.count))))
            }
            queues[Int(partition.partition)].leader = partition.error == .noError || partition.leader >= 0 ? partition.leader : -1
        }
        availablePartitions = queues.filter { $0.leader >= 0 }.map(\.topicPartition.partition)
    }
}

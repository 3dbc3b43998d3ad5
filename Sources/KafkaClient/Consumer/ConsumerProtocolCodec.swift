import KafkaProtocol
import NIOCore

/// The "consumer" protocol's JoinGroup metadata and SyncGroup assignment bytes: an int16
/// version, then the `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment` schema at
/// that version.
///
/// Rivulet writes subscription version 3 (owned partitions, generation, rack) and assignment
/// version 3. Readers accept newer versions by decoding the fields they know: later versions
/// only append fields, which is how Java and librdkafka read them too.
enum ConsumerProtocolCodec {
    static let subscriptionVersion: Int16 = 3
    static let assignmentVersion: Int16 = 3

    static func encodeSubscription(_ subscription: ConsumerProtocolSubscription) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(subscriptionVersion)
        try subscription.encode(into: &buffer, version: subscriptionVersion)
        return buffer
    }

    static func decodeSubscription(_ bytes: ByteBuffer) throws -> ConsumerProtocolSubscription {
        var buffer = bytes
        let version = try readVersion(&buffer, context: "subscription")
        return try ConsumerProtocolSubscription.decode(from: &buffer, version: min(version, ConsumerProtocolSubscription.validVersions.upperBound))
    }

    static func encodeAssignment(_ assignment: ConsumerProtocolAssignment) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(assignmentVersion)
        try assignment.encode(into: &buffer, version: assignmentVersion)
        return buffer
    }

    /// An empty buffer (what the coordinator sends a member the leader gave nothing) is an empty assignment.
    static func decodeAssignment(_ bytes: ByteBuffer) throws -> ConsumerProtocolAssignment {
        guard bytes.readableBytes > 0 else { return ConsumerProtocolAssignment() }
        var buffer = bytes
        let version = try readVersion(&buffer, context: "assignment")
        return try ConsumerProtocolAssignment.decode(from: &buffer, version: min(version, ConsumerProtocolAssignment.validVersions.upperBound))
    }

    private static func readVersion(_ buffer: inout ByteBuffer, context: String) throws -> Int16 {
        let version = try buffer.readKafkaInteger(Int16.self, context: "consumer protocol \(context) version")
        guard version >= 0 else { throw KafkaProtocolError.unsupportedVersion(message: "ConsumerProtocol \(context)", version: version) }
        return version
    }

    // MARK: Conversions

    static func subscription(topics: [String], userData: ByteBuffer?, owned: [TopicPartition], generationId: Int32, rackId: String?) -> ConsumerProtocolSubscription {
        ConsumerProtocolSubscription(
            topics: topics, userData: userData,
            ownedPartitions: grouped(owned).map { ConsumerProtocolSubscription.TopicPartition(topic: $0.topic, partitions: $0.partitions) },
            generationId: generationId, rackId: rackId)
    }

    static func assignment(_ assignment: PartitionAssignment) -> ConsumerProtocolAssignment {
        ConsumerProtocolAssignment(
            assignedPartitions: grouped(assignment.partitions).map { ConsumerProtocolAssignment.TopicPartition(topic: $0.topic, partitions: $0.partitions) },
            userData: assignment.userData)
    }

    static func memberSubscription(memberId: String, groupInstanceId: String?, _ subscription: ConsumerProtocolSubscription) -> GroupMemberSubscription {
        GroupMemberSubscription(
            memberId: memberId, groupInstanceId: groupInstanceId, topics: subscription.topics, userData: subscription.userData,
            ownedPartitions: subscription.ownedPartitions.flatMap { t in t.partitions.map { TopicPartition(t.topic, $0) } },
            generationId: subscription.generationId, rackId: subscription.rackId)
    }

    static func partitionAssignment(_ assignment: ConsumerProtocolAssignment) -> PartitionAssignment {
        PartitionAssignment(
            partitions: assignment.assignedPartitions.flatMap { t in t.partitions.map { TopicPartition(t.topic, $0) } },
            userData: assignment.userData)
    }

    /// Partitions grouped by topic, topics and partitions sorted.
    static func grouped(_ partitions: [TopicPartition]) -> [(topic: String, partitions: [Int32])] {
        var byTopic: [String: [Int32]] = [:]
        for partition in partitions { byTopic[partition.topic, default: []].append(partition.partition) }
        return byTopic.keys.sorted().map { ($0, byTopic[$0]!.sorted()) }
    }
}

import KafkaProtocol

/// `roundrobin`: every partition of every subscribed topic, in topic then partition order,
/// dealt to the members in turn, skipping members not subscribed to the partition's topic.
///
/// With identical subscriptions the counts differ by at most one.
public struct RoundRobinAssignor: PartitionAssignor {
    public let name = "roundrobin"

    public init() {}

    public func assign(members: [GroupMemberSubscription], metadata: ClusterMetadata) throws -> [String: PartitionAssignment] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, PartitionAssignment()) })
        let ordered = members.sorted(by: GroupMemberSubscription.assignmentOrder)
        guard !ordered.isEmpty else { return result }
        let subscribed = ordered.map { Set($0.topics) }
        let counts = metadata.partitionCounts(of: Set(members.flatMap(\.topics)))
        var next = 0
        for topic in counts.keys.sorted() {
            for partition in 0..<counts[topic]! {
                // Some member subscribes to every topic in `counts`, so this finds one within a lap.
                while !subscribed[next].contains(topic) { next = (next + 1) % ordered.count }
                result[ordered[next].memberId]!.partitions.append(TopicPartition(topic, partition))
                next = (next + 1) % ordered.count
            }
        }
        return result
    }
}

import KafkaProtocol

/// `range`: for each topic on its own, the members subscribed to it each get one contiguous
/// range of its partitions; the first `partitions % members` get one more.
///
/// Topics with the same partition count are thus split the same way, which co-partitioned
/// joins rely on; across many topics the first members end up with more partitions.
public struct RangeAssignor: PartitionAssignor {
    public let name = "range"

    public init() {}

    public func assign(members: [GroupMemberSubscription], metadata: ClusterMetadata) throws -> [String: PartitionAssignment] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, PartitionAssignment()) })
        let counts = metadata.partitionCounts(of: Set(members.flatMap(\.topics)))
        for (topic, count) in counts.sorted(by: { $0.key < $1.key }) {
            let subscribers = members.filter { $0.topics.contains(topic) }.sorted(by: GroupMemberSubscription.assignmentOrder)
            guard !subscribers.isEmpty else { continue }
            let share = Int(count) / subscribers.count
            let extra = Int(count) % subscribers.count
            for (index, member) in subscribers.enumerated() {
                let start = share * index + min(index, extra)
                let length = share + (index < extra ? 1 : 0)
                for partition in start..<(start + length) {
                    result[member.memberId]!.partitions.append(TopicPartition(topic, Int32(partition)))
                }
            }
        }
        return result
    }
}

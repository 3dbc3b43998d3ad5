import KafkaProtocol

/// The leader's step that makes any assignment safe under the cooperative protocol: a
/// partition still claimed by one member is not given to another in the same rebalance.
///
/// The owner learns from its new assignment that the partition is gone, revokes it (commits,
/// runs its callback) and rejoins at once; in that follow-up rebalance nobody claims the
/// partition any more and the assignor hands it to its new member. Thus a partition is never
/// consumed by two members at the same time.
///
/// Any other member's claim withholds a partition, whatever its generation: a stale claim
/// means that member may still be reading the partition, and it drops the claim as soon as it
/// sees an assignment without it.
enum CooperativeRebalance {
    /// `assignments` with every partition that another member still claims removed.
    static func withholdingTransfers(_ assignments: [String: PartitionAssignment],
                                     members: [GroupMemberSubscription]) -> [String: PartitionAssignment] {
        var claimants: [TopicPartition: Set<String>] = [:]
        for member in members {
            for partition in member.ownedPartitions { claimants[partition, default: []].insert(member.memberId) }
        }
        var result = assignments
        for (memberId, assignment) in assignments {
            result[memberId]!.partitions = assignment.partitions.filter { partition in
                guard let claimedBy = claimants[partition] else { return true }
                return claimedBy == [memberId]
            }
        }
        return result
    }
}

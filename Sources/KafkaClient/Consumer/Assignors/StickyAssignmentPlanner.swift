import KafkaProtocol

/// The computation shared by `sticky` and `cooperative-sticky`: a balanced assignment that
/// moves as few partitions as possible away from their current owners.
///
/// "Balanced" means no partition could move from one member to another member subscribed to
/// its topic while the first holds at least two more partitions than the second. With
/// identical subscriptions that is counts differing by at most one.
///
/// Two paths:
/// - identical subscriptions: quotas are known up front (`⌊P/N⌋`, and `P mod N` members get one
///   more), so each member keeps owned partitions up to its quota, and only the surplus and the
///   unowned partitions are dealt out. This moves the fewest partitions possible.
/// - different subscriptions: owned partitions stay, unowned ones go (most constrained first)
///   to the least loaded eligible member, then single moves from the most to a less loaded
///   member repeat until none helps. Each move lowers the sum of squared counts, so this ends.
struct StickyAssignmentPlanner {
    /// Member id → subscribed topics.
    var subscriptions: [String: Set<String>]
    /// Topic → partition count, for the topics that exist.
    var partitionCounts: [String: Int32]
    /// Partition → member currently owning it.
    var currentOwners: [TopicPartition: String]

    func plan() -> [String: [TopicPartition]] {
        let members = subscriptions.keys.sorted()
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0, [TopicPartition]()) })
        guard !members.isEmpty else { return result }

        var eligibleTopics: [String: Set<String>] = [:]
        for member in members {
            eligibleTopics[member] = subscriptions[member]!.filter { partitionCounts[$0] != nil }
        }
        let allTopics = Set(eligibleTopics.values.joined())
        let allPartitions = allTopics.sorted().flatMap { topic in (0..<partitionCounts[topic]!).map { TopicPartition(topic, $0) } }

        // Claims survive only for partitions that exist and that the owner still subscribes to.
        for (partition, owner) in currentOwners {
            guard let topics = eligibleTopics[owner], topics.contains(partition.topic),
                  partition.partition >= 0, partition.partition < (partitionCounts[partition.topic] ?? 0) else { continue }
            result[owner]!.append(partition)
        }
        for member in members { result[member]!.sort() }

        let identical = Set(eligibleTopics.values).count == 1
        if identical {
            Self.balanceWithQuotas(&result, members: members, allPartitions: allPartitions)
        } else {
            Self.balanceGenerally(&result, members: members, eligibleTopics: eligibleTopics, allPartitions: allPartitions)
        }
        for member in members { result[member]!.sort() }
        return result
    }

    private static func balanceWithQuotas(_ result: inout [String: [TopicPartition]], members: [String], allPartitions: [TopicPartition]) {
        let minQuota = allPartitions.count / members.count
        var largerQuotasLeft = allPartitions.count % members.count
        // Members holding the most keep the larger quotas, which keeps the most partitions in place.
        let byOwned = members.sorted { (result[$0]!.count, $1) > (result[$1]!.count, $0) }
        for member in byOwned {
            let owned = result[member]!
            var keep = min(owned.count, minQuota)
            if owned.count > minQuota && largerQuotasLeft > 0 {
                keep = minQuota + 1
                largerQuotasLeft -= 1
            }
            result[member] = Array(owned[..<keep])
        }
        let assigned = Set(result.values.joined())
        // Everything not kept: the surplus of members above quota and the partitions nobody owned.
        var unassigned = allPartitions.filter { !assigned.contains($0) }
        unassigned.reverse() // taken from the end, so in ascending order
        for member in members where result[member]!.count < minQuota {
            while result[member]!.count < minQuota, let next = unassigned.popLast() { result[member]!.append(next) }
        }
        for member in members where largerQuotasLeft > 0 && result[member]!.count == minQuota {
            guard let next = unassigned.popLast() else { break }
            result[member]!.append(next)
            largerQuotasLeft -= 1
        }
        assert(unassigned.isEmpty, "quotas add up to the partition count")
    }

    private static func balanceGenerally(_ result: inout [String: [TopicPartition]], members: [String],
                                         eligibleTopics: [String: Set<String>], allPartitions: [TopicPartition]) {
        var candidates: [String: [String]] = [:]
        for topic in Set(allPartitions.map(\.topic)) {
            candidates[topic] = members.filter { eligibleTopics[$0]!.contains(topic) }
        }
        let eligibleCount = Dictionary(uniqueKeysWithValues: members.map { member in
            (member, allPartitions.lazy.filter { eligibleTopics[member]!.contains($0.topic) }.count)
        })
        let assigned = Set(result.values.joined())
        let unassigned = allPartitions.filter { !assigned.contains($0) }
            .sorted { (candidates[$0.topic]!.count, $0) < (candidates[$1.topic]!.count, $1) }
        for partition in unassigned {
            let target = candidates[partition.topic]!.min { lhs, rhs in
                (result[lhs]!.count, eligibleCount[lhs]!, lhs) < (result[rhs]!.count, eligibleCount[rhs]!, rhs)
            }!
            result[target]!.append(partition)
        }

        // Move single partitions from the most loaded member to the least loaded eligible one.
        while true {
            var best: (from: String, to: String, index: Int, gap: Int)?
            for from in members {
                let load = result[from]!.count
                guard load >= 2 else { continue }
                for (index, partition) in result[from]!.enumerated() {
                    for to in candidates[partition.topic]! where to != from {
                        let gap = load - result[to]!.count
                        if gap >= 2, gap > (best?.gap ?? 1) { best = (from, to, index, gap) }
                    }
                }
            }
            guard let move = best else { break }
            let partition = result[move.from]!.remove(at: move.index)
            result[move.to]!.append(partition)
        }
    }
}

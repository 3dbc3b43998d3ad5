import KafkaProtocol
import Testing
@testable import KafkaClient

/// The cooperative protocol end to end on the leader's side: the assignor, the consumer's
/// withholding step, and members that revoke what they lose and rejoin.
@Suite struct AssignorCooperativeTests {
    /// One simulated group: members own partitions, rebalance rounds run until nobody needs to rejoin.
    struct Group {
        var owned: [String: Set<TopicPartition>] = [:]
        var topics: [String] = ["t"]
        var counts: [String: Int32]
        var generation: Int32 = 0
        var rounds = 0

        /// Runs rebalances until stable; checks after every step that no partition has two owners.
        mutating func rebalance(_ assignor: some PartitionAssignor) throws {
            var again = true
            while again {
                rounds += 1
                generation += 1
                let members = owned.keys.sorted().map {
                    GroupMemberSubscription(memberId: $0, topics: topics, ownedPartitions: owned[$0]!.sorted(), generationId: generation - 1)
                }
                let computed = try assignor.assign(members: members, metadata: metadata(counts))
                let assigned = CooperativeRebalance.withholdingTransfers(computed, members: members)
                again = false
                // Members apply their assignment: revoke what is gone, add what is new.
                for member in owned.keys.sorted() {
                    let target = Set(assigned[member]!.partitions)
                    if !owned[member]!.subtracting(target).isEmpty { again = true }
                    owned[member] = target
                    try checkNoDoubleOwnership()
                }
                #expect(rounds < 10, "the group never settled")
                if rounds >= 10 { return }
            }
        }

        func checkNoDoubleOwnership() throws {
            var seen: [TopicPartition: String] = [:]
            for (member, partitions) in owned {
                for partition in partitions {
                    #expect(seen[partition] == nil, "\(partition) owned by \(seen[partition] ?? "") and \(member)")
                    seen[partition] = member
                }
            }
        }
    }

    @Test func aJoiningMemberGetsItsShareInASecondRebalance() throws {
        var group = Group(counts: ["t": 6])
        group.owned = ["a": [], "b": []]
        try group.rebalance(CooperativeStickyAssignor())
        #expect(group.rounds == 1, "a fresh group needs one round")
        let before = group.owned
        group.owned["c"] = []
        group.rounds = 0
        try group.rebalance(CooperativeStickyAssignor())
        #expect(group.rounds == 2, "revocations need a follow-up round")
        #expect(group.owned.values.map(\.count).sorted() == [2, 2, 2])
        // a and b only lost partitions; they never gained any.
        #expect(group.owned["a"]!.isSubset(of: before["a"]!))
        #expect(group.owned["b"]!.isSubset(of: before["b"]!))
    }

    @Test func withholdingRemovesOnlyPartitionsAnotherMemberClaims() {
        let members = [
            GroupMemberSubscription(memberId: "a", topics: ["t"], ownedPartitions: [TopicPartition("t", 0), TopicPartition("t", 1)], generationId: 1),
            GroupMemberSubscription(memberId: "b", topics: ["t"], ownedPartitions: [], generationId: 1),
        ]
        let wanted: [String: PartitionAssignment] = [
            "a": PartitionAssignment(partitions: [TopicPartition("t", 0)]),
            "b": PartitionAssignment(partitions: [TopicPartition("t", 1), TopicPartition("t", 2)]),
        ]
        let result = CooperativeRebalance.withholdingTransfers(wanted, members: members)
        #expect(result["a"]?.partitions == [TopicPartition("t", 0)])
        #expect(result["b"]?.partitions == [TopicPartition("t", 2)], "t-1 is still a's: b gets it next round")
    }

    @Test func eagerAssignorsUnderTheCooperativeStepStillNeverDoubleOwn() throws {
        // Range moves partitions freely; the withholding step alone keeps ownership exclusive.
        var group = Group(counts: ["t": 5])
        group.owned = ["m1": [], "m2": []]
        try group.rebalance(RangeAssignor())
        group.owned["m0"] = []
        try group.rebalance(RangeAssignor())
        #expect(group.owned.values.reduce(0) { $0 + $1.count } == 5)
    }
}

import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

@Suite struct AssignorStickyTests {
    /// Members that report the partitions they own, as cooperative members do.
    func owning(_ ownership: [String: [TopicPartition]], topics: [String], generation: Int32 = 1) -> [GroupMemberSubscription] {
        ownership.keys.sorted().map {
            GroupMemberSubscription(memberId: $0, topics: topics, ownedPartitions: ownership[$0]!, generationId: generation)
        }
    }

    func partitions(_ topic: String, _ indexes: [Int32]) -> [TopicPartition] { indexes.map { TopicPartition(topic, $0) } }

    @Test func aJoiningMemberTakesOnlyWhatBalanceRequires() throws {
        // a and b hold 3 each of 6; c joins. Quota is 2: a and b each give up exactly one.
        let group = owning(["a": partitions("t", [0, 1, 2]), "b": partitions("t", [3, 4, 5]), "c": []], topics: ["t"])
        let result = try CooperativeStickyAssignor().assign(members: group, metadata: metadata(["t": 6]))
        #expect(exactCoverViolation(result, members: group, counts: ["t": 6]) == nil)
        #expect(Set(result["a"]!.partitions).isSubset(of: partitions("t", [0, 1, 2])))
        #expect(Set(result["b"]!.partitions).isSubset(of: partitions("t", [3, 4, 5])))
        #expect(result.values.map(\.partitions.count).sorted() == [2, 2, 2])
    }

    @Test func aLeavingMembersPartitionsAreSpreadAndNothingElseMoves() throws {
        // c (which held 4, 5) is gone: a and b keep theirs and take one each.
        let group = owning(["a": partitions("t", [0, 1]), "b": partitions("t", [2, 3])], topics: ["t"])
        let result = try StickyAssignor().assign(members: group, metadata: metadata(["t": 6]))
        #expect(Set(result["a"]!.partitions).isSuperset(of: partitions("t", [0, 1])))
        #expect(Set(result["b"]!.partitions).isSuperset(of: partitions("t", [2, 3])))
        #expect(result["a"]!.partitions.count == 3 && result["b"]!.partitions.count == 3)
    }

    @Test func eagerStickyReadsThePreviousAssignmentFromUserData() throws {
        // Eager members own nothing while joining; they send their previous assignment in userData.
        func member(_ id: String, _ previous: [Int32]) -> GroupMemberSubscription {
            let data = StickyAssignor().subscriptionUserData(SubscriptionContext(topics: ["t"], previousAssignment: partitions("t", previous), previousGenerationId: 4))
            return GroupMemberSubscription(memberId: id, topics: ["t"], userData: data)
        }
        let group = [member("a", [1, 3]), member("b", [0, 2]), member("c", [])]
        let result = try StickyAssignor().assign(members: group, metadata: metadata(["t": 6]))
        #expect(exactCoverViolation(result, members: group, counts: ["t": 6]) == nil)
        #expect(Set(result["a"]!.partitions) == Set(partitions("t", [1, 3])))
        #expect(Set(result["b"]!.partitions) == Set(partitions("t", [0, 2])))
        #expect(Set(result["c"]!.partitions) == Set(partitions("t", [4, 5])))
    }

    @Test func theNewestGenerationWinsAConflictingClaim() throws {
        // b claims t-0 from generation 3 (stale); a from generation 5.
        let group = [
            GroupMemberSubscription(memberId: "a", topics: ["t"], ownedPartitions: partitions("t", [0]), generationId: 5),
            GroupMemberSubscription(memberId: "b", topics: ["t"], ownedPartitions: partitions("t", [0, 1]), generationId: 3),
        ]
        let result = try CooperativeStickyAssignor().assign(members: group, metadata: metadata(["t": 2]))
        #expect(result["a"]!.partitions == partitions("t", [0]))
        #expect(result["b"]!.partitions == partitions("t", [1]))
    }

    @Test func differentSubscriptionsAreBalancedAsFarAsSubscriptionsAllow() throws {
        // a can only read x (4 partitions); b and c read x and y (2 partitions).
        let group = [
            GroupMemberSubscription(memberId: "a", topics: ["x"]),
            GroupMemberSubscription(memberId: "b", topics: ["x", "y"]),
            GroupMemberSubscription(memberId: "c", topics: ["x", "y"]),
        ]
        let counts: [String: Int32] = ["x": 4, "y": 2]
        for assignor in [StickyAssignor() as any PartitionAssignor, CooperativeStickyAssignor()] {
            let result = try assignor.assign(members: group, metadata: metadata(counts))
            #expect(exactCoverViolation(result, members: group, counts: counts) == nil)
            #expect(imbalance(result, members: group) == nil)
            #expect(result.values.map(\.partitions.count).sorted() == [2, 2, 2])
        }
    }

    @Test(arguments: [11, 12, 13, 14, 15, 16])
    func randomGroupsStayCoveredBalancedAndSticky(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let topics = (0..<4).map { "topic-\($0)" }
        var counts: [String: Int32] = [:]
        for topic in topics { counts[topic] = Int32.random(in: 1...10, using: &random) }
        let identical = seed % 2 == 0
        var subscriptions: [String: [String]] = [:]
        func subscribe(_ member: String) {
            subscriptions[member] = identical ? topics : topics.filter { _ in Bool.random(using: &random) }.nilIfEmpty ?? [topics[0]]
        }
        for index in 0..<Int.random(in: 2...6, using: &random) { subscribe("member-\(index)") }
        var ownership: [String: [TopicPartition]] = [:]
        var nextMember = 100
        for generation in Int32(1)...12 {
            // Members come and go between rebalances.
            if Bool.random(using: &random) || subscriptions.count < 2 {
                subscribe("member-\(nextMember)")
                nextMember += 1
            } else {
                let leaving = subscriptions.keys.sorted().randomElement(using: &random)!
                subscriptions[leaving] = nil
                ownership[leaving] = nil
            }
            let group = subscriptions.keys.sorted().map {
                GroupMemberSubscription(memberId: $0, topics: subscriptions[$0]!, ownedPartitions: ownership[$0] ?? [], generationId: generation - 1)
            }
            let result = try CooperativeStickyAssignor().assign(members: group, metadata: metadata(counts))
            #expect(exactCoverViolation(result, members: group, counts: counts) == nil, "seed \(seed) generation \(generation)")
            #expect(imbalance(result, members: group) == nil, "seed \(seed) generation \(generation)")
            if identical {
                // Stickiness: every member keeps min(owned, ⌊P/N⌋) of what it had.
                let total = group.reduce(into: Set<TopicPartition>()) { $0.formUnion(($1.topics.flatMap { t in (0..<counts[t]!).map { TopicPartition(t, $0) } })) }.count
                let quota = total / group.count
                for member in group {
                    let kept = Set(result[member.memberId]!.partitions).intersection(member.ownedPartitions).count
                    #expect(kept >= min(member.ownedPartitions.count, quota), "seed \(seed): \(member.memberId) kept \(kept) of \(member.ownedPartitions.count), quota \(quota)")
                }
            }
            ownership = result.mapValues(\.partitions)
        }
    }

    @Test func userDataRoundTripsInTheJavaLayout() throws {
        let data = StickyAssignorUserData(previousAssignment: [TopicPartition("b", 1), TopicPartition("a", 0), TopicPartition("a", 2)], generationId: 9)
        var bytes = data.encoded()
        // Hand-built expectation: 2 topics; "a" [0, 2]; "b" [1]; generation 9.
        var expected = ByteBuffer()
        expected.writeInteger(Int32(2))
        expected.writeInteger(Int16(1)); expected.writeString("a"); expected.writeInteger(Int32(2)); expected.writeInteger(Int32(0)); expected.writeInteger(Int32(2))
        expected.writeInteger(Int16(1)); expected.writeString("b"); expected.writeInteger(Int32(1)); expected.writeInteger(Int32(1))
        expected.writeInteger(Int32(9))
        #expect(bytes == expected)
        let decoded = try #require(StickyAssignorUserData(decoding: bytes))
        #expect(Set(decoded.previousAssignment) == [TopicPartition("a", 0), TopicPartition("a", 2), TopicPartition("b", 1)])
        #expect(decoded.generationId == 9)
        // Version 0 (no generation) reads with generation -1.
        bytes.moveWriterIndex(to: bytes.writerIndex - 4)
        #expect(StickyAssignorUserData(decoding: bytes)?.generationId == -1)
    }
}

extension Array {
    var nilIfEmpty: Self? { isEmpty ? nil : self }
}

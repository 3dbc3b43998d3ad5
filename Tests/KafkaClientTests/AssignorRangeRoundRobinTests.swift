import KafkaProtocol
import Testing
@testable import KafkaClient

@Suite struct AssignorRangeRoundRobinTests {
    @Test func rangeSplitsEachTopicIntoContiguousRanges() throws {
        // 7 partitions over 3 members: 7 = 3 + 2 + 2, the first member takes the extra one.
        let group = members(["c", "a", "b"], topics: ["t"])
        let result = try RangeAssignor().assign(members: group, metadata: metadata(["t": 7]))
        #expect(result["a"]?.partitions == [TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 2)])
        #expect(result["b"]?.partitions == [TopicPartition("t", 3), TopicPartition("t", 4)])
        #expect(result["c"]?.partitions == [TopicPartition("t", 5), TopicPartition("t", 6)])
    }

    @Test func rangeSplitsCoPartitionedTopicsAlike() throws {
        let group = members(["m1", "m2"], topics: ["left", "right"])
        let result = try RangeAssignor().assign(members: group, metadata: metadata(["left": 4, "right": 4]))
        for member in ["m1", "m2"] {
            let partitions = result[member]!.partitions
            let left = partitions.filter { $0.topic == "left" }.map(\.partition)
            let right = partitions.filter { $0.topic == "right" }.map(\.partition)
            #expect(left == right, "co-partitioned topics must split the same way for \(member)")
        }
        #expect(result["m1"]!.partitions.filter { $0.topic == "left" }.map(\.partition) == [0, 1])
    }

    @Test func rangeOnlyGivesTopicsToTheirSubscribers() throws {
        let group = [GroupMemberSubscription(memberId: "a", topics: ["x"]), GroupMemberSubscription(memberId: "b", topics: ["x", "y"])]
        let result = try RangeAssignor().assign(members: group, metadata: metadata(["x": 2, "y": 3]))
        #expect(exactCoverViolation(result, members: group, counts: ["x": 2, "y": 3]) == nil)
        #expect(result["b"]!.partitions.filter { $0.topic == "y" }.count == 3)
    }

    @Test func staticMembersComeFirstInRangeOrder() throws {
        // Static members sort by instance id, ahead of dynamic ones, whatever their member ids.
        let group = [
            GroupMemberSubscription(memberId: "a-dynamic", topics: ["t"]),
            GroupMemberSubscription(memberId: "z-static", groupInstanceId: "instance-1", topics: ["t"]),
        ]
        let result = try RangeAssignor().assign(members: group, metadata: metadata(["t": 3]))
        #expect(result["z-static"]?.partitions == [TopicPartition("t", 0), TopicPartition("t", 1)])
        #expect(result["a-dynamic"]?.partitions == [TopicPartition("t", 2)])
    }

    @Test func roundRobinDealsPartitionsInTurn() throws {
        let group = members(["b", "a"], topics: ["t0", "t1"])
        let result = try RoundRobinAssignor().assign(members: group, metadata: metadata(["t0": 3, "t1": 2]))
        #expect(result["a"]?.partitions == [TopicPartition("t0", 0), TopicPartition("t0", 2), TopicPartition("t1", 1)])
        #expect(result["b"]?.partitions == [TopicPartition("t0", 1), TopicPartition("t1", 0)])
    }

    @Test func roundRobinSkipsMembersNotSubscribed() throws {
        let group = [GroupMemberSubscription(memberId: "a", topics: ["t0"]), GroupMemberSubscription(memberId: "b", topics: ["t0", "t1"])]
        let result = try RoundRobinAssignor().assign(members: group, metadata: metadata(["t0": 2, "t1": 2]))
        #expect(result["a"]?.partitions == [TopicPartition("t0", 0)])
        #expect(result["b"]?.partitions == [TopicPartition("t0", 1), TopicPartition("t1", 0), TopicPartition("t1", 1)])
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func everyAssignorCoversEveryPartitionOnceAndBalancesIdenticalSubscriptions(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let assignors: [any PartitionAssignor] = [RangeAssignor(), RoundRobinAssignor(), StickyAssignor(), CooperativeStickyAssignor()]
        for _ in 0..<20 {
            let memberCount = Int.random(in: 1...8, using: &random)
            var counts: [String: Int32] = [:]
            for topic in 0..<Int.random(in: 1...4, using: &random) { counts["topic-\(topic)"] = Int32.random(in: 1...12, using: &random) }
            let group = members((0..<memberCount).map { "member-\($0)" }, topics: counts.keys.sorted())
            for assignor in assignors {
                let result = try assignor.assign(members: group, metadata: metadata(counts))
                #expect(exactCoverViolation(result, members: group, counts: counts) == nil, "\(assignor.name)")
                let sizes = result.values.map(\.partitions.count)
                if assignor.name == "range" {
                    // Range balances each topic on its own.
                    for (topic, _) in counts {
                        let perTopic = result.values.map { $0.partitions.filter { $0.topic == topic }.count }
                        #expect(perTopic.max()! - perTopic.min()! <= 1, "range, topic \(topic)")
                    }
                } else {
                    #expect(sizes.max()! - sizes.min()! <= 1, "\(assignor.name): \(sizes)")
                }
            }
        }
    }
}

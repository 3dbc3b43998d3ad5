import Foundation
@testable import KafkaClient
import KafkaProtocol
import NIOCore
@testable import Rivulet
import Testing

/// Cluster metadata with the given partition counts (leader 0 everywhere).
private func metadata(_ counts: [String: Int32]) -> ClusterMetadata {
    var topics: [String: ClusterMetadata.Topic] = [:]
    for (name, count) in counts {
        let partitions = (0..<count).map {
            ClusterMetadata.Partition(partition: $0, leader: 0, leaderEpoch: 0, replicas: [0], inSyncReplicas: [0], error: .noError)
        }
        topics[name] = ClusterMetadata.Topic(name: name, id: UUID(), isInternal: false, partitions: partitions, error: .noError)
    }
    return ClusterMetadata(brokers: [0: .init(nodeId: 0, address: BrokerAddress(host: "localhost", port: 9092), rack: nil)], topics: topics)
}

private func tasks(_ subtopology: Int, _ partitions: Range<Int32>) -> [TaskId] {
    partitions.map { TaskId(subtopology: subtopology, partition: $0) }
}

@Suite struct StreamsAssignorTests {
    /// A stream joined with a table: one sub-topology reading two co-partitioned topics.
    let joinLayout = TaskLayout(sourceTopics: [0: ["clicks", "users"], 1: ["other"]], copartitionGroups: [["clicks", "users"]])

    @Test func partitionIOfEveryCopartitionedTopicGoesToTaskI() {
        let layout = joinLayout
        let tasks = layout.tasks(partitionCounts: ["clicks": 4, "users": 4, "other": 2])
        #expect(tasks.count == 6)
        for partition in Int32(0)..<4 {
            #expect(tasks[TaskId(subtopology: 0, partition: partition)] == [TopicPartition("clicks", partition), TopicPartition("users", partition)])
        }
        #expect(tasks[TaskId(subtopology: 1, partition: 1)] == [TopicPartition("other", 1)])
        #expect(layout.task(of: TopicPartition("users", 3)) == TaskId(subtopology: 0, partition: 3))
    }

    @Test func differentCountsOfJoinedTopicsAreNamed() {
        let violation = joinLayout.copartitioningViolation(partitionCounts: ["clicks": 2, "users": 3, "other": 5])
        #expect(violation == .copartitioning(topics: ["clicks", "users"], partitionCounts: ["clicks": 2, "users": 3]))
        #expect(joinLayout.copartitioningViolation(partitionCounts: ["clicks": 3, "users": 3, "other": 5]) == nil)
    }

    @Test func theLeaderRefusesToAssignNonCopartitionedTopicsAndTellsEveryMember() throws {
        let assignor = StreamsPartitionAssignor(
            layout: joinLayout, member: .init(processId: "p", tasksOnDisk: { [] }), logger: .init(label: "test"))
        let members = ["a", "b"].map { GroupMemberSubscription(memberId: $0, topics: ["clicks", "users", "other"]) }
        let result = try assignor.assign(members: members, metadata: metadata(["clicks": 2, "users": 3, "other": 1]))
        for member in ["a", "b"] {
            let info = try #require(result[member]?.userData.flatMap(StreamsAssignmentInfo.decode))
            #expect(result[member]?.partitions == [])
            #expect(info.errorCode == .copartitioning)
            #expect(info.errorMessage.contains("clicks: 2") && info.errorMessage.contains("users: 3"))
        }
    }

    @Test func theLeaderRefusesToAssignWhenASourceTopicIsMissingAndNamesIt() throws {
        let assignor = StreamsPartitionAssignor(
            layout: joinLayout, member: .init(processId: "p", tasksOnDisk: { [] }), logger: .init(label: "test"))
        let members = ["a", "b"].map { GroupMemberSubscription(memberId: $0, topics: ["clicks", "users", "other"]) }
        // "other" was deleted after the application started.
        let result = try assignor.assign(members: members, metadata: metadata(["clicks": 2, "users": 2]))
        for member in ["a", "b"] {
            let info = try #require(result[member]?.userData.flatMap(StreamsAssignmentInfo.decode))
            #expect(result[member]?.partitions == [])
            #expect(info.activeTasks.isEmpty)
            #expect(info.errorCode == .missingSourceTopics)
            #expect(info.errorMessage.contains("other"))
        }
    }

    @Test func tasksSpreadEvenlyOverThreadsAndInstances() {
        let all = Set(tasks(0, 0..<6) + tasks(1, 0..<6))
        for memberCount in [1, 2, 3, 4, 5, 6, 12] {
            // Two threads per instance.
            let members = (0..<memberCount).map { TaskAssignor.Member(memberId: "m\($0)", processId: "p\($0 / 2)") }
            let result = TaskAssignor().assign(tasks: all, members: members)
            #expect(Set(result.values.joined()) == all)
            #expect(result.values.map(\.count).reduce(0, +) == all.count, "a task assigned twice")
            let counts = result.values.map(\.count)
            #expect(counts.max()! - counts.min()! <= 1, "\(memberCount) members: \(result)")
            // Each sub-topology is spread too.
            for subtopology in 0...1 {
                let perMember = result.values.map { $0.filter { $0.subtopology == subtopology }.count }
                #expect(perMember.max()! - perMember.min()! <= 1)
            }
        }
        // Instances get equal shares when their thread counts are equal.
        let members = (0..<4).map { TaskAssignor.Member(memberId: "m\($0)", processId: "p\($0 % 2)") }
        let result = TaskAssignor().assign(tasks: all, members: members)
        let perProcess = Dictionary(grouping: members, by: \.processId).mapValues { $0.map { result[$0.memberId]!.count }.reduce(0, +) }
        #expect(perProcess == ["p0": 6, "p1": 6])
    }

    @Test func tasksStayWhereTheyRanWhenMembersJoinAndLeave() {
        let all = Set(tasks(0, 0..<6))
        var members = (0..<3).map { TaskAssignor.Member(memberId: "m\($0)", processId: "p\($0)") }
        var result = TaskAssignor().assign(tasks: all, members: members)
        #expect(result.values.map(\.count) == [2, 2, 2])

        // A fourth member joins: only tasks that must move for balance move.
        for index in members.indices { members[index].previousTasks = Set(result[members[index].memberId]!) }
        members.append(TaskAssignor.Member(memberId: "m3", processId: "p3"))
        let before = result
        result = TaskAssignor().assign(tasks: all, members: members)
        let moved = all.filter { task in before.first { $0.value.contains(task) }!.key != result.first { $0.value.contains(task) }!.key }
        #expect(moved.count == 1)
        #expect(result["m3"]!.count == 1)

        // m0 leaves: its tasks go to others, nobody else's move.
        for index in members.indices { members[index].previousTasks = Set(result[members[index].memberId]!) }
        let leaving = Set(result["m0"]!)
        let previous = result
        members.removeAll { $0.memberId == "m0" }
        result = TaskAssignor().assign(tasks: all, members: members)
        for member in members {
            #expect(Set(previous[member.memberId]!).isSubset(of: Set(result[member.memberId]!)))
        }
        #expect(Set(result.values.joined()) == all)
        #expect(leaving.isSubset(of: Set(result.values.joined())))
    }

    @Test func aRestartedInstanceGetsBackTheTasksWhoseStateItHasOnDisk() {
        let all = Set(tasks(0, 0..<4))
        // New member ids (the processes restarted), no previous tasks, but state on disk.
        let members = [
            TaskAssignor.Member(memberId: "a", processId: "p1", tasksOnDisk: [TaskId(subtopology: 0, partition: 2), TaskId(subtopology: 0, partition: 3)]),
            TaskAssignor.Member(memberId: "b", processId: "p2", tasksOnDisk: [TaskId(subtopology: 0, partition: 0), TaskId(subtopology: 0, partition: 1)]),
        ]
        let result = TaskAssignor().assign(tasks: all, members: members)
        #expect(result["a"] == tasks(0, 2..<4))
        #expect(result["b"] == tasks(0, 0..<2))
    }

    @Test func aSeventhMemberOnSixTasksOwnsNoneUntilAnotherLeaves() {
        let all = Set(tasks(0, 0..<6))
        var members = (0..<6).map { TaskAssignor.Member(memberId: "m\($0)", processId: "p\($0)") }
        var result = TaskAssignor().assign(tasks: all, members: members)
        for index in members.indices { members[index].previousTasks = Set(result[members[index].memberId]!) }
        members.append(TaskAssignor.Member(memberId: "m6", processId: "p6"))
        result = TaskAssignor().assign(tasks: all, members: members)
        #expect(result["m6"] == [])
        #expect((0..<6).allSatisfy { result["m\($0)"]!.count == 1 })

        let leaving = result["m2"]!
        for index in members.indices { members[index].previousTasks = Set(result[members[index].memberId]!) }
        members.removeAll { $0.memberId == "m2" }
        result = TaskAssignor().assign(tasks: all, members: members)
        #expect(result["m6"] == leaving)
    }

    @Test func userDataRoundTripsAndForeignBytesAreRefused() {
        let subscription = StreamsSubscriptionInfo(processId: "proc-1", previousTasks: [TaskId(subtopology: 1, partition: 4)],
                                                   tasksOnDisk: [TaskId(subtopology: 0, partition: 0), TaskId(subtopology: 1, partition: 4)])
        #expect(StreamsSubscriptionInfo.decode(subscription.encode()) == subscription)
        let assignment = StreamsAssignmentInfo(activeTasks: [TaskId(subtopology: 0, partition: 1), TaskId(subtopology: 2, partition: 0)])
        #expect(StreamsAssignmentInfo.decode(assignment.encode()) == assignment)
        #expect(StreamsSubscriptionInfo.decode(ByteBuffer(bytes: [0, 0, 0, 9, 1, 2])) == nil)
        var truncated = subscription.encode()
        truncated.moveWriterIndex(to: truncated.writerIndex - 3)
        #expect(StreamsSubscriptionInfo.decode(truncated) == nil)
    }

    @Test func theLeaderTurnsPartitionsIntoTasksAndSpreadsThem() throws {
        let layout = TaskLayout(topology: try wordCountTopology(), applicationId: "wc")
        let assignor = StreamsPartitionAssignor(layout: layout, member: .init(processId: "p", tasksOnDisk: { [] }), logger: .init(label: "test"))
        let topics = layout.allSourceTopics.sorted()
        #expect(topics == ["text-lines", "wc-counts-repartition"])
        let members = ["a", "b", "c"].map { id in
            GroupMemberSubscription(memberId: id, topics: topics,
                                    userData: StreamsSubscriptionInfo(processId: "proc-\(id)", previousTasks: [], tasksOnDisk: []).encode())
        }
        let result = try assignor.assign(members: members, metadata: metadata(["text-lines": 6, "wc-counts-repartition": 6]))
        var seen: Set<TopicPartition> = []
        for member in ["a", "b", "c"] {
            let info = try #require(result[member]?.userData.flatMap(StreamsAssignmentInfo.decode))
            #expect(info.activeTasks.count == 4)
            // The partitions are exactly those of the member's tasks.
            let partitions = Set(result[member]!.partitions)
            #expect(partitions == Set(info.activeTasks.map { task in
                TopicPartition(task.subtopology == 0 ? "text-lines" : "wc-counts-repartition", task.partition)
            }))
            #expect(seen.isDisjoint(with: partitions))
            seen.formUnion(partitions)
        }
        #expect(seen.count == 12)
    }
}

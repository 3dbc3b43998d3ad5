import Foundation
import KafkaProtocol
import NIOCore
@testable import KafkaClient

/// Cluster metadata with the given partition counts (leader 0 everywhere).
func metadata(_ counts: [String: Int32]) -> ClusterMetadata {
    var topics: [String: ClusterMetadata.Topic] = [:]
    for (name, count) in counts {
        let partitions = (0..<count).map {
            ClusterMetadata.Partition(partition: $0, leader: 0, leaderEpoch: 0, replicas: [0], inSyncReplicas: [0], error: .noError)
        }
        topics[name] = ClusterMetadata.Topic(name: name, id: UUID(), isInternal: false, partitions: partitions, error: .noError)
    }
    return ClusterMetadata(brokers: [0: .init(nodeId: 0, address: BrokerAddress(host: "localhost", port: 9092), rack: nil)], topics: topics)
}

/// A deterministic PRNG (SplitMix64), so property tests reproduce from their seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Checks that every partition of a subscribed, existing topic is assigned exactly once, and
/// only to a member subscribed to its topic. Returns a description of the first violation.
func exactCoverViolation(_ assignments: [String: PartitionAssignment], members: [GroupMemberSubscription],
                         counts: [String: Int32]) -> String? {
    var seen: [TopicPartition: String] = [:]
    let topicsOf = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, Set($0.topics)) })
    for (member, assignment) in assignments {
        guard let topics = topicsOf[member] else { return "assignment for unknown member \(member)" }
        for partition in assignment.partitions {
            if let other = seen[partition] { return "\(partition) assigned to both \(other) and \(member)" }
            seen[partition] = member
            guard topics.contains(partition.topic) else { return "\(partition) assigned to \(member), not subscribed" }
            guard let count = counts[partition.topic], partition.partition >= 0, partition.partition < count else {
                return "\(partition) does not exist"
            }
        }
    }
    let subscribed = Set(members.flatMap(\.topics))
    for topic in subscribed {
        for partition in 0..<(counts[topic] ?? 0) where seen[TopicPartition(topic, partition)] == nil {
            return "\(topic)-\(partition) not assigned"
        }
    }
    for member in members where assignments[member.memberId] == nil { return "no assignment for \(member.memberId)" }
    return nil
}

/// The balance criterion of the sticky assignors: no partition could move from one member to
/// another subscribed to its topic while the first holds at least two more.
func imbalance(_ assignments: [String: PartitionAssignment], members: [GroupMemberSubscription]) -> String? {
    let topicsOf = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, Set($0.topics)) })
    for (from, assignment) in assignments {
        for partition in assignment.partitions {
            for (to, topics) in topicsOf where to != from && topics.contains(partition.topic) {
                let gap = assignment.partitions.count - (assignments[to]?.partitions.count ?? 0)
                if gap >= 2 { return "\(partition) could move from \(from) (\(assignment.partitions.count)) to \(to) (\(assignments[to]?.partitions.count ?? 0))" }
            }
        }
    }
    return nil
}

func members(_ ids: [String], topics: [String]) -> [GroupMemberSubscription] {
    ids.map { GroupMemberSubscription(memberId: $0, topics: topics) }
}

func owned(_ assignments: [String: PartitionAssignment]) -> [String: Set<TopicPartition>] {
    assignments.mapValues { Set($0.partitions) }
}

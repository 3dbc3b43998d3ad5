import KafkaProtocol
import NIOCore

/// `sticky` (KIP-54), eager: a balanced assignment that keeps as many partitions as possible
/// where they were. Members give everything up when a rebalance starts, so each reports its
/// previous assignment and generation in `userData` (the layout Java and librdkafka use).
public struct StickyAssignor: PartitionAssignor {
    public let name = "sticky"

    public init() {}

    public func subscriptionUserData(_ context: SubscriptionContext) -> ByteBuffer? {
        guard context.previousGenerationId >= 0 || !context.previousAssignment.isEmpty else { return nil }
        return StickyAssignorUserData(previousAssignment: context.previousAssignment, generationId: context.previousGenerationId).encoded()
    }

    public func assign(members: [GroupMemberSubscription], metadata: ClusterMetadata) throws -> [String: PartitionAssignment] {
        let claims = members.map { member -> PartitionOwnership.Claim in
            if let data = member.userData, data.readableBytes > 0, let decoded = StickyAssignorUserData(decoding: data) {
                return .init(memberId: member.memberId, partitions: decoded.previousAssignment, generationId: decoded.generationId)
            }
            return .init(memberId: member.memberId, partitions: member.ownedPartitions, generationId: member.generationId)
        }
        return StickyAssignmentPlanner.assignments(members: members, metadata: metadata, owners: PartitionOwnership.resolve(claims))
    }
}

extension StickyAssignmentPlanner {
    static func assignments(members: [GroupMemberSubscription], metadata: ClusterMetadata,
                            owners: [TopicPartition: String]) -> [String: PartitionAssignment] {
        let planner = StickyAssignmentPlanner(
            subscriptions: Dictionary(members.map { ($0.memberId, Set($0.topics)) }, uniquingKeysWith: { $0.union($1) }),
            partitionCounts: metadata.partitionCounts(of: Set(members.flatMap(\.topics))),
            currentOwners: owners)
        return planner.plan().mapValues { PartitionAssignment(partitions: $0) }
    }
}

import KafkaProtocol
import NIOCore

/// `cooperative-sticky` (KIP-429): the sticky assignment under the cooperative protocol.
/// Members keep their partitions while rejoining and report them in `ownedPartitions` with
/// their generation; only partitions that move are revoked, and they reach their new owner in
/// the follow-up rebalance (the consumer withholds them for one round).
///
/// The subscription's `userData` repeats the owned partitions and generation in the sticky
/// layout, which librdkafka and older Java leaders read when the subscription version lacks them.
public struct CooperativeStickyAssignor: PartitionAssignor {
    public let name = "cooperative-sticky"
    public var rebalanceProtocol: RebalanceProtocol { .cooperative }

    public init() {}

    public func subscriptionUserData(_ context: SubscriptionContext) -> ByteBuffer? {
        StickyAssignorUserData(previousAssignment: context.ownedPartitions, generationId: context.previousGenerationId).encoded()
    }

    public func assign(members: [GroupMemberSubscription], metadata: ClusterMetadata) throws -> [String: PartitionAssignment] {
        let claims = members.map { member -> PartitionOwnership.Claim in
            var generation = member.generationId
            if generation < 0, let data = member.userData {
                // Older subscription versions carry the generation only in userData: Java writes
                // it alone (4 bytes), librdkafka in the sticky layout.
                if data.readableBytes == 4 {
                    generation = data.getInteger(at: data.readerIndex, as: Int32.self)!
                } else if let decoded = StickyAssignorUserData(decoding: data) {
                    generation = decoded.generationId
                }
            }
            return .init(memberId: member.memberId, partitions: member.ownedPartitions, generationId: generation)
        }
        return StickyAssignmentPlanner.assignments(members: members, metadata: metadata, owners: PartitionOwnership.resolve(claims))
    }
}

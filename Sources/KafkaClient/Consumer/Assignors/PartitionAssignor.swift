import KafkaProtocol
import NIOCore

/// How a group hands partitions over when it rebalances.
public enum RebalanceProtocol: Sendable, Hashable {
    /// Every member gives up all its partitions before rejoining; the new assignment starts from nothing.
    case eager
    /// KIP-429: members keep their partitions across the rebalance and give up only those that
    /// move; a second rebalance hands the released ones to their new owners.
    case cooperative
}

/// One member's subscription, as the group leader's assignor sees it.
public struct GroupMemberSubscription: Sendable, Hashable {
    public var memberId: String
    /// `group.instance.id` of a static member.
    public var groupInstanceId: String?
    /// The topics the member subscribes to (a pattern subscription sends the topics it matched).
    public var topics: [String]
    /// Whatever the member's assignor put there (`PartitionAssignor.subscriptionUserData`).
    public var userData: ByteBuffer?
    /// The partitions the member owns while rejoining: empty under the eager protocol.
    public var ownedPartitions: [TopicPartition]
    /// The generation `ownedPartitions` belong to, -1 when the member sent none.
    public var generationId: Int32
    /// `client.rack`.
    public var rackId: String?

    public init(memberId: String, groupInstanceId: String? = nil, topics: [String], userData: ByteBuffer? = nil,
                ownedPartitions: [TopicPartition] = [], generationId: Int32 = -1, rackId: String? = nil) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.topics = topics
        self.userData = userData
        self.ownedPartitions = ownedPartitions
        self.generationId = generationId
        self.rackId = rackId
    }
}

/// What the leader gives one member: its partitions and the assignor's data for it.
public struct PartitionAssignment: Sendable, Hashable {
    public var partitions: [TopicPartition]
    public var userData: ByteBuffer?

    public init(partitions: [TopicPartition] = [], userData: ByteBuffer? = nil) {
        self.partitions = partitions
        self.userData = userData
    }
}

/// What a member knows about itself when it builds its subscription.
public struct SubscriptionContext: Sendable, Hashable {
    public var memberId: String
    public var groupInstanceId: String?
    /// The topics subscribed to, sorted.
    public var topics: [String]
    /// The partitions still owned while joining (always empty under the eager protocol).
    public var ownedPartitions: [TopicPartition]
    /// The last assignment received, even if since revoked, and its generation (-1 if none).
    public var previousAssignment: [TopicPartition]
    public var previousGenerationId: Int32
    public var rackId: String?

    public init(memberId: String = "", groupInstanceId: String? = nil, topics: [String], ownedPartitions: [TopicPartition] = [],
                previousAssignment: [TopicPartition] = [], previousGenerationId: Int32 = -1, rackId: String? = nil) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.topics = topics
        self.ownedPartitions = ownedPartitions
        self.previousAssignment = previousAssignment
        self.previousGenerationId = previousGenerationId
        self.rackId = rackId
    }
}

/// A partition assignment strategy, named as in `partition.assignment.strategy`.
///
/// The group's leader runs `assign` with every member's subscription and the cluster metadata
/// of the subscribed topics; each member then receives its `PartitionAssignment` through the
/// coordinator. Assignors exchange data through `userData`: a member's
/// `subscriptionUserData` reaches the leader in `GroupMemberSubscription.userData`, and the
/// leader's `PartitionAssignment.userData` reaches the member's `onAssignment`.
///
/// Under the cooperative protocol the consumer itself withholds partitions that would move
/// from a member still owning them (they are handed out in the follow-up rebalance), so a
/// cooperative assignor may simply return the assignment it wants to reach.
///
/// ```swift
/// struct EverythingToTheLeader: PartitionAssignor {
///     let name = "everything-to-first"
///     func assign(members: [GroupMemberSubscription], metadata: ClusterMetadata) throws -> [String: PartitionAssignment] {
///         let sorted = members.map(\.memberId).sorted()
///         var result = Dictionary(uniqueKeysWithValues: sorted.map { ($0, PartitionAssignment()) })
///         result[sorted[0]]?.partitions = metadata.partitions(of: Set(members.flatMap(\.topics)))
///         return result
///     }
/// }
/// ```
public protocol PartitionAssignor: Sendable {
    /// The protocol name in JoinGroup; members of one group must agree on it.
    var name: String { get }
    /// `.eager` unless the assignor supports KIP-429.
    var rebalanceProtocol: RebalanceProtocol { get }
    /// Data this member sends to the leader with its subscription.
    func subscriptionUserData(_ context: SubscriptionContext) -> ByteBuffer?
    /// The leader's computation: an assignment for every member id in `members`.
    func assign(members: [GroupMemberSubscription], metadata: ClusterMetadata) throws -> [String: PartitionAssignment]
    /// Called on every member with the assignment it received, before the application hears of it.
    func onAssignment(_ assignment: PartitionAssignment, generationId: Int32)
}

extension PartitionAssignor {
    public var rebalanceProtocol: RebalanceProtocol { .eager }
    public func subscriptionUserData(_ context: SubscriptionContext) -> ByteBuffer? { nil }
    public func onAssignment(_ assignment: PartitionAssignment, generationId: Int32) {}
}

extension ClusterMetadata {
    /// Every partition of the given topics that the metadata knows, sorted.
    public func partitions(of topics: Set<String>) -> [TopicPartition] {
        topics.sorted().flatMap { name in
            (self.topics[name]?.partitions ?? []).map { TopicPartition(name, $0.partition) }
        }
    }

    /// Partition counts of the given topics that exist; missing or failed topics are left out.
    public func partitionCounts(of topics: Set<String>) -> [String: Int32] {
        var counts: [String: Int32] = [:]
        for name in topics {
            guard let topic = self.topics[name], topic.error == .noError, !topic.partitions.isEmpty else { continue }
            counts[name] = Int32(topic.partitions.count)
        }
        return counts
    }
}

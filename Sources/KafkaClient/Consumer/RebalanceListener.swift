import KafkaProtocol

/// Callbacks run as the group's assignment changes. The consumer awaits each one before going
/// on, so a revocation callback can commit (or flush state) before the partitions move on.
///
/// - Under the eager protocol every rebalance revokes everything, then assigns the new set.
/// - Under the cooperative protocol a rebalance revokes only the partitions that move and
///   assigns only the new ones (`onAssigned` may then be called with an empty list).
/// - `onLost` replaces `onRevoked` when the consumer finds it was no longer a member (its
///   session expired or its generation is stale): the partitions may already belong to someone
///   else and committing their offsets would fail. When `onLost` is nil, `onRevoked` is called,
///   as in the Java client.
public struct RebalanceListener: Sendable {
    public var onAssigned: (@Sendable ([TopicPartition]) async -> Void)?
    public var onRevoked: (@Sendable ([TopicPartition]) async -> Void)?
    public var onLost: (@Sendable ([TopicPartition]) async -> Void)?

    public init(onAssigned: (@Sendable ([TopicPartition]) async -> Void)? = nil,
                onRevoked: (@Sendable ([TopicPartition]) async -> Void)? = nil,
                onLost: (@Sendable ([TopicPartition]) async -> Void)? = nil) {
        self.onAssigned = onAssigned
        self.onRevoked = onRevoked
        self.onLost = onLost
    }
}

/// A change of the consumer's assignment, as published on `KafkaConsumer.rebalanceEvents`.
/// Each event carries the partitions that changed, not the whole assignment.
public enum RebalanceEvent: Sendable, Hashable {
    case assigned([TopicPartition])
    case revoked([TopicPartition])
    case lost([TopicPartition])
}

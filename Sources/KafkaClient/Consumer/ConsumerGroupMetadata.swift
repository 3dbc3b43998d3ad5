/// Who this consumer is in its group, as a transactional producer needs it for
/// `sendOffsetsToTransaction` (KIP-447): the coordinator fences offset commits from members
/// of older generations.
public struct ConsumerGroupMetadata: Sendable, Hashable {
    public var groupId: String
    /// The current generation, -1 outside group management or before the first join.
    public var generationId: Int32
    /// The member id the coordinator gave, empty before the first join.
    public var memberId: String
    /// `group.instance.id` of a static member.
    public var groupInstanceId: String?

    public init(groupId: String, generationId: Int32 = -1, memberId: String = "", groupInstanceId: String? = nil) {
        self.groupId = groupId
        self.generationId = generationId
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
    }
}

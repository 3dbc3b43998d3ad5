import KafkaProtocol

/// The consumer's standing in its group: identity, generation, and what it must do next.
struct GroupMembership {
    enum Phase: Equatable {
        /// Not a member (yet, or any more).
        case unjoined
        /// JoinGroup or SyncGroup in progress.
        case joining
        /// Holding an assignment of the current generation; heartbeating.
        case stable
    }

    var memberId = ""
    var generationId: Int32 = -1
    var protocolName: String?
    var isLeader = false
    var phase = Phase.unjoined
    /// Set whenever a (re)join is due; cleared when a join starts.
    var rejoinNeeded = true
    var rejoinReason = "initial join"
    /// The last assignment received and its generation, kept across revocations for the sticky assignors.
    var previousAssignment: [TopicPartition] = []
    var previousGenerationId: Int32 = -1
    /// Partition counts of the group's topics when the assignment was made; a change triggers a rejoin.
    var knownPartitionCounts: [String: Int32] = [:]
    /// A refusal that no retry will fix (fenced instance id, inconsistent protocol…).
    var fatalError: KafkaConsumerError?

    /// Forgets the generation (after ILLEGAL_GENERATION and the like); the member id stays.
    mutating func resetGeneration(reason: String) {
        generationId = -1
        phase = .unjoined
        requestRejoin(reason)
    }

    /// Forgets the member id too (UNKNOWN_MEMBER_ID): the next JoinGroup starts afresh.
    mutating func resetMember(reason: String) {
        memberId = ""
        resetGeneration(reason: reason)
    }

    mutating func requestRejoin(_ reason: String) {
        rejoinNeeded = true
        rejoinReason = reason
    }

    /// Whether owned partitions must be treated as lost: the coordinator no longer recognises
    /// this member's generation, so another member may already read them.
    var generationIsStale: Bool { generationId < 0 || memberId.isEmpty }
}

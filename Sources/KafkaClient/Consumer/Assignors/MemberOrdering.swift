extension GroupMemberSubscription {
    /// The order assignors hand partitions out in: static members first, by instance id, so a
    /// restarted static member lands in the same place; then dynamic members by member id.
    static func assignmentOrder(_ lhs: GroupMemberSubscription, _ rhs: GroupMemberSubscription) -> Bool {
        switch (lhs.groupInstanceId, rhs.groupInstanceId) {
        case let (l?, r?): return l == r ? lhs.memberId < rhs.memberId : l < r
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return lhs.memberId < rhs.memberId
        }
    }
}

import KafkaProtocol
import NIOCore

/// A classic consumer group's state, as Kafka's group coordinator keeps it.
///
/// Empty → PreparingRebalance → CompletingRebalance → Stable, back to PreparingRebalance on
/// any membership change, and Dead once removed.
final class ConsumerGroup {
    enum State: String {
        case empty = "Empty"
        case preparingRebalance = "PreparingRebalance"
        case completingRebalance = "CompletingRebalance"
        case stable = "Stable"
        case dead = "Dead"
    }

    final class Member {
        let memberId: String
        var groupInstanceId: String?
        var clientId: String
        var clientHost: String
        var sessionTimeoutMs: Int32
        var rebalanceTimeoutMs: Int32
        var protocolType: String
        var protocols: [(name: String, metadata: ByteBuffer)]
        var assignment = ByteBuffer()
        var lastSeen: ContinuousClock.Instant
        var awaitingJoin: CheckedContinuation<JoinGroupResponse, Never>?
        var joinVersion: Int16 = 0
        var awaitingSync: CheckedContinuation<SyncGroupResponse, Never>?

        init(memberId: String, groupInstanceId: String?, clientId: String, clientHost: String, sessionTimeoutMs: Int32,
             rebalanceTimeoutMs: Int32, protocolType: String, protocols: [(name: String, metadata: ByteBuffer)]) {
            self.memberId = memberId
            self.groupInstanceId = groupInstanceId
            self.clientId = clientId
            self.clientHost = clientHost
            self.sessionTimeoutMs = sessionTimeoutMs
            self.rebalanceTimeoutMs = rebalanceTimeoutMs
            self.protocolType = protocolType
            self.protocols = protocols
            self.lastSeen = .now
        }

        func metadata(for protocolName: String) -> ByteBuffer? {
            protocols.first { $0.name == protocolName }?.metadata
        }

        func sameProtocols(as other: [(name: String, metadata: ByteBuffer)]) -> Bool {
            protocols.count == other.count && zip(protocols, other).allSatisfy { $0.name == $1.name && $0.metadata == $1.metadata }
        }
    }

    let groupId: String
    var state = State.empty
    var generationId: Int32 = 0
    var protocolType: String?
    var protocolName: String?
    var leaderId: String?
    /// Members in join order, so leader choice and responses are deterministic.
    var members: [String: Member] = [:]
    var joinOrder: [String] = []
    /// Member ids handed out with MEMBER_ID_REQUIRED and not yet used to join.
    var pendingMemberIds: Set<String> = []
    /// Static membership: group.instance.id → current member id.
    var staticMembers: [String: String] = [:]
    /// Increases each time a rebalance starts, so a stale timer cannot complete a newer rebalance.
    var rebalanceEpoch = 0

    init(groupId: String) {
        self.groupId = groupId
    }

    var orderedMembers: [Member] { joinOrder.compactMap { members[$0] } }

    func add(_ member: Member) {
        members[member.memberId] = member
        joinOrder.append(member.memberId)
        if let instance = member.groupInstanceId { staticMembers[instance] = member.memberId }
        // An empty group takes the protocol type of whoever joins first; afterwards it keeps it
        // (also while empty) so that ListGroups shows what the group's offsets belong to.
        if members.count == 1 { protocolType = member.protocolType }
    }

    /// A static member rejoining under a new member id: it takes the old member's place in the
    /// join order, its instance id and, when the old member led the group, the leadership.
    func replace(_ oldId: String, with member: Member) {
        guard members.removeValue(forKey: oldId) != nil else { return add(member) }
        members[member.memberId] = member
        if let index = joinOrder.firstIndex(of: oldId) { joinOrder[index] = member.memberId } else { joinOrder.append(member.memberId) }
        if let instance = member.groupInstanceId { staticMembers[instance] = member.memberId }
        if leaderId == oldId { leaderId = member.memberId }
    }

    func remove(_ memberId: String) {
        guard let member = members.removeValue(forKey: memberId) else { return }
        joinOrder.removeAll { $0 == memberId }
        if let instance = member.groupInstanceId, staticMembers[instance] == memberId { staticMembers[instance] = nil }
        if leaderId == memberId { leaderId = nil }
    }

    /// Whether every member could use one of `protocols`.
    func supportsAny(of protocols: [String]) -> Bool {
        members.isEmpty || !candidateProtocols.isDisjoint(with: protocols)
    }

    /// Protocols every current member supports.
    var candidateProtocols: Set<String> {
        var common: Set<String>?
        for member in members.values {
            let names = Set(member.protocols.map(\.name))
            common = common.map { $0.intersection(names) } ?? names
        }
        return common ?? []
    }

    /// Kafka's vote: each member votes for its most preferred candidate; the most votes wins.
    func selectProtocol() -> String? {
        let candidates = candidateProtocols
        var votes: [String: Int] = [:]
        for member in orderedMembers {
            if let choice = member.protocols.first(where: { candidates.contains($0.name) })?.name {
                votes[choice, default: 0] += 1
            }
        }
        let firstPreference = orderedMembers.first?.protocols.map(\.name) ?? []
        return votes.max { a, b in
            a.value != b.value ? a.value < b.value : (firstPreference.firstIndex(of: a.key) ?? .max) > (firstPreference.firstIndex(of: b.key) ?? .max)
        }?.key
    }

    /// The longest rebalance timeout among members: how long a rebalance waits for rejoins.
    var rebalanceTimeoutMs: Int32 {
        members.values.map(\.rebalanceTimeoutMs).max() ?? 0
    }
}

import Foundation
import KafkaProtocol
import NIOCore

/// The classic consumer-group coordinator: membership, generations, leader election, the
/// hand-off of client-side assignments through SyncGroup, session expiry, and committed offsets.
///
/// An actor: JoinGroup and SyncGroup calls wait on continuations that later calls or timers resume.
actor GroupCoordinator {
    private let configuration: BrokerConfiguration
    private var groups: [String: ConsumerGroup] = [:]
    let offsets: OffsetStore

    init(configuration: BrokerConfiguration, offsets: OffsetStore) {
        self.configuration = configuration
        self.offsets = offsets
    }

    // MARK: JoinGroup

    func joinGroup(_ request: JoinGroupRequest, version: Int16, clientId: String, clientHost: String) async -> JoinGroupResponse {
        func failure(_ code: KafkaErrorCode, memberId: String = request.memberId) -> JoinGroupResponse {
            JoinGroupResponse(errorCode: code.rawValue, generationId: -1, protocolName: version >= 7 ? nil : "", leader: "", memberId: memberId)
        }
        guard !request.groupId.isEmpty else { return failure(.invalidGroupId) }
        guard request.sessionTimeoutMs >= configuration.groupMinSessionTimeoutMs,
              request.sessionTimeoutMs <= configuration.groupMaxSessionTimeoutMs else { return failure(.invalidSessionTimeout) }
        guard !request.protocols.isEmpty, !request.protocolType.isEmpty else { return failure(.inconsistentGroupProtocol) }

        let group = groups[request.groupId] ?? {
            let created = ConsumerGroup(groupId: request.groupId)
            groups[request.groupId] = created
            return created
        }()
        let protocols = request.protocols.map { (name: $0.name, metadata: $0.metadata) }
        if !group.members.isEmpty {
            guard group.protocolType == request.protocolType, group.supportsAny(of: protocols.map(\.name)) else {
                return failure(.inconsistentGroupProtocol)
            }
        }
        // Version 1 added the rebalance timeout; before it the session timeout served for both.
        let rebalanceTimeout = request.rebalanceTimeoutMs > 0 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs

        let member: ConsumerGroup.Member
        if request.memberId.isEmpty {
            let newId = "\(clientId.isEmpty ? "member" : clientId)-\(UUID().uuidString.lowercased())"
            if request.groupInstanceId == nil && version >= 4 {
                // KIP-394: hand out an id first, so a client that retries a lost response does not leave a ghost member.
                group.pendingMemberIds.insert(newId)
                return failure(.memberIdRequired, memberId: newId)
            }
            member = ConsumerGroup.Member(memberId: newId, groupInstanceId: request.groupInstanceId, clientId: clientId, clientHost: clientHost,
                                          sessionTimeoutMs: request.sessionTimeoutMs, rebalanceTimeoutMs: rebalanceTimeout,
                                          protocolType: request.protocolType, protocols: protocols)
            if let instance = request.groupInstanceId, let oldId = group.staticMembers[instance], let old = group.members[oldId] {
                // A static member restarting: it takes over its old place under a new id, and the old id is fenced.
                old.awaitingJoin?.resume(returning: failure(.fencedInstanceId, memberId: oldId))
                old.awaitingSync?.resume(returning: SyncGroupResponse(errorCode: KafkaErrorCode.fencedInstanceId.rawValue, assignment: ByteBuffer()))
                let previousLeader = group.leaderId
                member.assignment = old.assignment
                group.replace(oldId, with: member)
                if group.state == .stable, let current = group.protocolName, group.selectProtocol() == current {
                    // KIP-345: a stable group keeps its assignment; the member gets its old partitions back in
                    // SyncGroup and nobody else rebalances. The previous leader id is returned so that the
                    // member does not compute an assignment a stable group would never hand out.
                    member.joinVersion = version
                    return JoinGroupResponse(errorCode: 0, generationId: group.generationId, protocolType: group.protocolType,
                                             protocolName: current, leader: previousLeader ?? "", memberId: newId)
                }
            } else {
                group.add(member)
            }
            prepareRebalance(group)
        } else if group.pendingMemberIds.remove(request.memberId) != nil {
            member = ConsumerGroup.Member(memberId: request.memberId, groupInstanceId: request.groupInstanceId, clientId: clientId, clientHost: clientHost,
                                          sessionTimeoutMs: request.sessionTimeoutMs, rebalanceTimeoutMs: rebalanceTimeout,
                                          protocolType: request.protocolType, protocols: protocols)
            group.add(member)
            prepareRebalance(group)
        } else {
            guard let existing = group.members[request.memberId] else { return failure(.unknownMemberId) }
            if let instance = request.groupInstanceId, group.staticMembers[instance] != request.memberId {
                return failure(.fencedInstanceId)
            }
            member = existing
            let changed = !existing.sameProtocols(as: protocols)
            existing.protocols = protocols
            existing.sessionTimeoutMs = request.sessionTimeoutMs
            existing.rebalanceTimeoutMs = rebalanceTimeout
            existing.lastSeen = .now
            switch group.state {
            case .stable, .completingRebalance:
                if changed || (group.state == .stable && group.leaderId == existing.memberId) {
                    prepareRebalance(group)
                } else {
                    // Nothing changed: answer with the current generation without a new rebalance.
                    return joinResponse(group: group, member: existing, version: version)
                }
            case .empty, .dead:
                prepareRebalance(group)
            case .preparingRebalance:
                break
            }
        }
        member.joinVersion = version
        member.lastSeen = .now
        return await withCheckedContinuation { continuation in
            member.awaitingJoin = continuation
            maybeCompleteJoin(group)
        }
    }

    private func joinResponse(group: ConsumerGroup, member: ConsumerGroup.Member, version: Int16) -> JoinGroupResponse {
        let isLeader = group.leaderId == member.memberId
        let protocolName = group.protocolName ?? ""
        return JoinGroupResponse(
            errorCode: 0, generationId: group.generationId, protocolType: group.protocolType, protocolName: protocolName,
            leader: group.leaderId ?? "", memberId: member.memberId,
            members: isLeader ? group.orderedMembers.map {
                JoinGroupResponse.JoinGroupResponseMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, metadata: $0.metadata(for: protocolName) ?? ByteBuffer())
            } : [])
    }

    /// Starts a rebalance: members must rejoin within the rebalance timeout.
    private func prepareRebalance(_ group: ConsumerGroup) {
        if group.state == .completingRebalance {
            for member in group.members.values {
                member.awaitingSync?.resume(returning: SyncGroupResponse(errorCode: KafkaErrorCode.rebalanceInProgress.rawValue, assignment: ByteBuffer()))
                member.awaitingSync = nil
            }
        }
        let wasEmpty = group.state == .empty
        group.state = .preparingRebalance
        group.rebalanceEpoch += 1
        let epoch = group.rebalanceEpoch
        // A new group waits group.initial.rebalance.delay.ms for more members (KIP-134).
        let delay = Int64(wasEmpty ? configuration.groupInitialRebalanceDelayMs : Int64(group.rebalanceTimeoutMs))
        let groupId = group.groupId
        Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(delay))
            await self?.rebalanceTimerFired(groupId: groupId, epoch: epoch, wasInitialDelay: wasEmpty)
        }
    }

    private func rebalanceTimerFired(groupId: String, epoch: Int, wasInitialDelay: Bool) {
        guard let group = groups[groupId], group.rebalanceEpoch == epoch, group.state == .preparingRebalance else { return }
        if wasInitialDelay {
            group.rebalanceEpoch += 1
            let next = group.rebalanceEpoch
            let timeout = Int64(group.rebalanceTimeoutMs)
            if group.members.values.allSatisfy({ $0.awaitingJoin != nil }) {
                completeJoin(group)
            } else {
                Task { [weak self] in
                    try? await Task.sleep(for: .milliseconds(timeout))
                    await self?.rebalanceTimerFired(groupId: groupId, epoch: next, wasInitialDelay: false)
                }
            }
            return
        }
        completeJoin(group)
    }

    private func maybeCompleteJoin(_ group: ConsumerGroup) {
        guard group.state == .preparingRebalance else { return }
        // While the initial delay runs, joins wait for it.
        if group.generationId == 0 && configuration.groupInitialRebalanceDelayMs > 0 { return }
        if group.members.values.allSatisfy({ $0.awaitingJoin != nil }) {
            completeJoin(group)
        }
    }

    /// Ends the join phase: members that did not rejoin are dropped, a new generation starts.
    private func completeJoin(_ group: ConsumerGroup) {
        for member in group.orderedMembers where member.awaitingJoin == nil {
            group.remove(member.memberId)
        }
        group.generationId += 1
        group.rebalanceEpoch += 1
        guard !group.members.isEmpty else {
            group.state = .empty
            group.protocolName = nil
            group.leaderId = nil
            return
        }
        group.protocolName = group.selectProtocol()
        if group.leaderId == nil || group.members[group.leaderId!] == nil {
            group.leaderId = group.orderedMembers.first?.memberId
        }
        group.state = .completingRebalance
        for member in group.orderedMembers {
            let continuation = member.awaitingJoin
            member.awaitingJoin = nil
            member.lastSeen = .now
            continuation?.resume(returning: joinResponse(group: group, member: member, version: member.joinVersion))
        }
    }

    // MARK: SyncGroup

    func syncGroup(_ request: SyncGroupRequest) async -> SyncGroupResponse {
        func failure(_ code: KafkaErrorCode) -> SyncGroupResponse {
            SyncGroupResponse(errorCode: code.rawValue, assignment: ByteBuffer())
        }
        guard let group = groups[request.groupId], let member = group.members[request.memberId] else { return failure(.unknownMemberId) }
        if let instance = request.groupInstanceId, group.staticMembers[instance] != request.memberId { return failure(.fencedInstanceId) }
        guard request.generationId == group.generationId else { return failure(.illegalGeneration) }
        if let type = request.protocolType, type != group.protocolType { return failure(.inconsistentGroupProtocol) }
        if let name = request.protocolName, name != group.protocolName { return failure(.inconsistentGroupProtocol) }
        member.lastSeen = .now
        switch group.state {
        case .empty, .dead:
            return failure(.unknownMemberId)
        case .preparingRebalance:
            return failure(.rebalanceInProgress)
        case .stable:
            return SyncGroupResponse(errorCode: 0, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment)
        case .completingRebalance:
            return await withCheckedContinuation { continuation in
                member.awaitingSync = continuation
                if group.leaderId == member.memberId {
                    var assigned: [String: ByteBuffer] = [:]
                    for entry in request.assignments { assigned[entry.memberId] = entry.assignment }
                    for m in group.members.values { m.assignment = assigned[m.memberId] ?? ByteBuffer() }
                    group.state = .stable
                    for m in group.members.values {
                        let waiting = m.awaitingSync
                        m.awaitingSync = nil
                        waiting?.resume(returning: SyncGroupResponse(errorCode: 0, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment))
                    }
                }
            }
        }
    }

    // MARK: Heartbeat and LeaveGroup

    func heartbeat(_ request: HeartbeatRequest) -> HeartbeatResponse {
        guard let group = groups[request.groupId], let member = group.members[request.memberId] else {
            return HeartbeatResponse(errorCode: KafkaErrorCode.unknownMemberId.rawValue)
        }
        if let instance = request.groupInstanceId, group.staticMembers[instance] != request.memberId {
            return HeartbeatResponse(errorCode: KafkaErrorCode.fencedInstanceId.rawValue)
        }
        member.lastSeen = .now
        guard request.generationId == group.generationId else { return HeartbeatResponse(errorCode: KafkaErrorCode.illegalGeneration.rawValue) }
        if group.state == .preparingRebalance { return HeartbeatResponse(errorCode: KafkaErrorCode.rebalanceInProgress.rawValue) }
        return HeartbeatResponse(errorCode: 0)
    }

    func leaveGroup(_ request: LeaveGroupRequest, version: Int16) -> LeaveGroupResponse {
        // Up to version 2 one member leaves by id; from version 3 a batch, possibly by instance id.
        let leaving: [(memberId: String, instanceId: String?)] = version < 3 ? [(request.memberId, nil)] : request.members.map { ($0.memberId, $0.groupInstanceId) }
        guard let group = groups[request.groupId] else {
            return LeaveGroupResponse(errorCode: version < 3 ? KafkaErrorCode.unknownMemberId.rawValue : 0, members: leaving.map {
                LeaveGroupResponse.MemberResponse(memberId: $0.memberId, groupInstanceId: $0.instanceId, errorCode: KafkaErrorCode.unknownMemberId.rawValue)
            })
        }
        var results: [LeaveGroupResponse.MemberResponse] = []
        var anyLeft = false
        for entry in leaving {
            var memberId = entry.memberId
            if memberId.isEmpty, let instance = entry.instanceId, let known = group.staticMembers[instance] { memberId = known }
            var code = KafkaErrorCode.noError
            if let member = group.members[memberId] {
                if let instance = entry.instanceId, member.groupInstanceId != instance {
                    code = .fencedInstanceId
                } else {
                    member.awaitingJoin?.resume(returning: JoinGroupResponse(errorCode: KafkaErrorCode.unknownMemberId.rawValue, generationId: -1, protocolName: "", leader: "", memberId: memberId))
                    member.awaitingSync?.resume(returning: SyncGroupResponse(errorCode: KafkaErrorCode.unknownMemberId.rawValue, assignment: ByteBuffer()))
                    group.remove(memberId)
                    anyLeft = true
                }
            } else {
                code = .unknownMemberId
            }
            results.append(LeaveGroupResponse.MemberResponse(memberId: entry.memberId, groupInstanceId: entry.instanceId, errorCode: code.rawValue))
        }
        if anyLeft { membershipChanged(group) }
        let topCode = version < 3 ? (results.first?.errorCode ?? 0) : 0
        return LeaveGroupResponse(errorCode: topCode, members: version < 3 ? [] : results)
    }

    private func membershipChanged(_ group: ConsumerGroup) {
        if group.members.isEmpty {
            group.generationId += 1
            group.state = .empty
            group.protocolName = nil
            group.leaderId = nil
            group.rebalanceEpoch += 1
        } else if group.state == .preparingRebalance {
            maybeCompleteJoin(group)
        } else {
            prepareRebalance(group)
        }
    }

    /// Drops members whose session timed out. Members waiting in JoinGroup are alive by definition.
    func expireMembers() {
        let now = ContinuousClock.now
        for group in groups.values {
            var expired = false
            for member in group.orderedMembers where member.awaitingJoin == nil && now - member.lastSeen > .milliseconds(Int64(member.sessionTimeoutMs)) {
                member.awaitingSync?.resume(returning: SyncGroupResponse(errorCode: KafkaErrorCode.unknownMemberId.rawValue, assignment: ByteBuffer()))
                group.remove(member.memberId)
                expired = true
            }
            if expired { membershipChanged(group) }
        }
    }

    // MARK: Offsets

    /// Checks that a commit comes from a current member of the current generation, or from a
    /// client outside group management (generation -1, empty member id) while the group has no members.
    func validateCommit(groupId: String, generationId: Int32, memberId: String, groupInstanceId: String?) -> KafkaErrorCode {
        guard !groupId.isEmpty else { return .invalidGroupId }
        guard let group = groups[groupId], !group.members.isEmpty else {
            return generationId < 0 ? .noError : .illegalGeneration
        }
        if generationId < 0 && memberId.isEmpty { return .unknownMemberId }
        guard let member = group.members[memberId] else { return .unknownMemberId }
        if let instance = groupInstanceId, member.groupInstanceId != instance { return .fencedInstanceId }
        guard generationId == group.generationId else { return .illegalGeneration }
        if group.state == .completingRebalance { return .rebalanceInProgress }
        member.lastSeen = .now
        return .noError
    }

    func offsetCommit(_ request: OffsetCommitRequest) -> OffsetCommitResponse {
        var code = validateCommit(groupId: request.groupId, generationId: request.generationIdOrMemberEpoch, memberId: request.memberId, groupInstanceId: request.groupInstanceId)
        if code == .noError {
            var entries: [(TopicPartition, CommittedOffset)] = []
            let now = BrokerCore.nowMs()
            for topic in request.topics {
                for p in topic.partitions {
                    entries.append((TopicPartition(topic: topic.name, partition: p.partitionIndex),
                                    CommittedOffset(offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata, commitTimestamp: now)))
                }
            }
            do { try offsets.commit(group: request.groupId, offsets: entries) } catch { code = .kafkaStorageError }
            if groups[request.groupId] == nil { groups[request.groupId] = ConsumerGroup(groupId: request.groupId) }
        }
        return OffsetCommitResponse(topics: request.topics.map { topic in
            OffsetCommitResponse.OffsetCommitResponseTopic(name: topic.name, partitions: topic.partitions.map {
                OffsetCommitResponse.OffsetCommitResponsePartition(partitionIndex: $0.partitionIndex, errorCode: code.rawValue)
            })
        })
    }

    /// Committed offsets of one group: all of them when `topics` is nil.
    func fetchOffsets(groupId: String, topics: [(name: String, partitions: [Int32])]?, requireStable: Bool)
        -> [(name: String, partitions: [(partition: Int32, offset: CommittedOffset?, error: KafkaErrorCode)])] {
        let committed = offsets.committed(group: groupId)
        let wanted: [(name: String, partitions: [Int32])]
        if let topics {
            wanted = topics
        } else {
            var byTopic: [String: [Int32]] = [:]
            for tp in committed.keys { byTopic[tp.topic, default: []].append(tp.partition) }
            wanted = byTopic.keys.sorted().map { ($0, byTopic[$0]!.sorted()) }
        }
        return wanted.map { topic in
            (topic.name, topic.partitions.map { partition in
                let tp = TopicPartition(topic: topic.name, partition: partition)
                if requireStable && offsets.hasPendingTransactionalOffset(group: groupId, partition: tp) {
                    return (partition, nil, .unstableOffsetCommit)
                }
                return (partition, committed[tp], .noError)
            })
        }
    }

    // MARK: Describe and list

    func describe(groupId: String) -> DescribeGroupsResponse.DescribedGroup {
        guard let group = groups[groupId] else {
            return DescribeGroupsResponse.DescribedGroup(errorCode: 0, groupId: groupId, groupState: "Dead", protocolType: "", protocolData: "")
        }
        return DescribeGroupsResponse.DescribedGroup(
            errorCode: 0, groupId: groupId, groupState: group.state.rawValue, protocolType: group.protocolType ?? "",
            protocolData: group.state == .stable ? (group.protocolName ?? "") : "",
            members: group.orderedMembers.map { member in
                DescribeGroupsResponse.DescribedGroupMember(
                    memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId, clientHost: member.clientHost,
                    memberMetadata: group.protocolName.flatMap(member.metadata(for:)) ?? ByteBuffer(),
                    memberAssignment: group.state == .stable ? member.assignment : ByteBuffer())
            })
    }

    func list(states: Set<String>) -> [(groupId: String, protocolType: String, state: String)] {
        var result: [(String, String, String)] = []
        var seen = Set<String>()
        for group in groups.values.sorted(by: { $0.groupId < $1.groupId }) {
            seen.insert(group.groupId)
            if states.isEmpty || states.contains(group.state.rawValue) {
                result.append((group.groupId, group.protocolType ?? "", group.state.rawValue))
            }
        }
        // Groups known only by their committed offsets are listed as Empty, as Kafka does after a restart.
        for groupId in offsets.groupIds where !seen.contains(groupId) && (states.isEmpty || states.contains("Empty")) {
            result.append((groupId, "consumer", "Empty"))
        }
        return result
    }
}

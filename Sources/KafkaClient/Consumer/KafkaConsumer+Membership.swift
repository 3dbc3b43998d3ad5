import KafkaProtocol
import NIOCore

/// A group error that the next attempt may not hit (a rebalance in progress, a moved coordinator).
struct RetriableGroupError: Error, CustomStringConvertible {
    var code: KafkaErrorCode
    var step: String
    var description: String { "\(step): \(code)" }
}

extension KafkaConsumer {
    /// The group's rebalance protocol: cooperative only when every configured assignor is.
    var rebalanceProtocol: RebalanceProtocol {
        !configuration.assignors.isEmpty && configuration.assignors.allSatisfy { $0.rebalanceProtocol == .cooperative } ? .cooperative : .eager
    }

    func startGroupTasks() {
        guard !groupTasksStarted, configuration.groupId != nil, !closed else { return }
        groupTasksStarted = true
        backgroundTasks.append(Task { await self.runGroupLoop() })
        backgroundTasks.append(Task { await self.runHeartbeatLoop() })
        if configuration.enableAutoCommit {
            backgroundTasks.append(Task { await self.runAutoCommitLoop() })
        }
    }

    // MARK: Group loop

    /// Joins when a (re)join is due and watches metadata for changes that call for one.
    func runGroupLoop() async {
        var nextMetadataCheck = ContinuousClock.now + configuration.client.metadataMaxAge
        while !closed && !Task.isCancelled {
            guard subscription.isGroupManaged, !leaving, membership.fatalError == nil else {
                await groupSignal.wait()
                continue
            }
            if membership.rejoinNeeded || membership.phase != .stable {
                do {
                    try await joinGroupAndSync()
                } catch {
                    guard !closed else { return }
                    if membership.fatalError != nil {
                        logger.error("consumer group '\(groupId)': \(error)")
                        dataSignal.signal()
                        continue
                    }
                    logger.info("joining group '\(groupId)' failed: \(error); retrying")
                    try? await Task.sleep(for: configuration.client.retryBackoff)
                }
                continue
            }
            let now = ContinuousClock.now
            if now >= nextMetadataCheck {
                await checkMetadataForRebalance()
                nextMetadataCheck = ContinuousClock.now + configuration.client.metadataMaxAge
                continue
            }
            await groupSignal.wait(timeout: nextMetadataCheck - now)
        }
    }

    /// One rebalance from this member's side: hand back what must go, JoinGroup, assign if
    /// leader, SyncGroup, take the new assignment.
    func joinGroupAndSync() async throws {
        membership.rejoinNeeded = false
        let reason = membership.rejoinReason
        do {
            if case .pattern = subscription { try await refreshPatternSubscription() }
            await prepareForJoin()
            guard subscription.isGroupManaged, !closed, !leaving else { return }
            membership.phase = .joining
            let subscribed = subscription.topics
            let metadata = try await cluster.metadata(for: Array(subscribed))
            metadataSnapshot = metadata
            let join = try await sendJoinGroup(reason: reason)
            var counts = metadata.partitionCounts(of: subscribed)
            var assignments: [SyncGroupRequest.SyncGroupRequestAssignment] = []
            if membership.isLeader {
                let (computed, groupCounts) = try await computeAssignments(join)
                assignments = computed
                counts.merge(groupCounts) { _, new in new }
            }
            let assignment = try await sendSyncGroup(assignments: assignments)
            guard !closed, !leaving, subscription.isGroupManaged else { return }
            membership.knownPartitionCounts = counts
            await applyAssignment(assignment)
        } catch {
            if membership.phase == .joining { membership.phase = .unjoined }
            membership.rejoinNeeded = true
            throw error
        }
    }

    /// Before JoinGroup: eager members revoke everything; cooperative members revoke only
    /// partitions of topics they no longer subscribe to; a member whose generation was lost
    /// reports its partitions lost.
    func prepareForJoin() async {
        let owned = Set(partitions.keys)
        guard !owned.isEmpty else { return }
        if membership.generationIsStale {
            await revoke(owned, lost: true)
        } else if rebalanceProtocol == .eager {
            await revoke(owned, lost: false)
        } else {
            let topics = subscription.topics
            await revoke(owned.filter { !topics.contains($0.topic) }, lost: false)
        }
    }

    private func sendJoinGroup(reason: String) async throws -> JoinGroupResponse {
        let topics = subscription.topics.sorted()
        let owned = rebalanceProtocol == .cooperative ? partitions.keys.sorted() : []
        let context = SubscriptionContext(
            memberId: membership.memberId, groupInstanceId: configuration.groupInstanceId, topics: topics, ownedPartitions: owned,
            previousAssignment: membership.previousAssignment, previousGenerationId: membership.previousGenerationId, rackId: configuration.clientRack)
        let protocols = try configuration.assignors.map { assignor in
            let subscription = ConsumerProtocolCodec.subscription(
                topics: topics, userData: assignor.subscriptionUserData(context), owned: owned,
                generationId: membership.generationId, rackId: configuration.clientRack)
            return JoinGroupRequest.JoinGroupRequestProtocol(name: assignor.name, metadata: try ConsumerProtocolCodec.encodeSubscription(subscription))
        }
        while true {
            let request = JoinGroupRequest(
                groupId: groupId, sessionTimeoutMs: Int32(clamping: configuration.sessionTimeout.milliseconds),
                rebalanceTimeoutMs: Int32(clamping: configuration.rebalanceTimeout.milliseconds), memberId: membership.memberId,
                groupInstanceId: configuration.groupInstanceId, protocolType: "consumer", protocols: protocols, reason: reason)
            let response = try await sendToCoordinator(request, timeout: configuration.rebalanceTimeout + .seconds(5))
            let code = KafkaErrorCode(response.errorCode)
            switch code {
            case .noError:
                membership.memberId = response.memberId
                membership.generationId = response.generationId
                membership.protocolName = response.protocolName
                membership.isLeader = response.leader == response.memberId
                logger.debug("joined group '\(groupId)' generation \(response.generationId) as \(response.memberId)\(membership.isLeader ? " (leader)" : "") with \(response.protocolName ?? "?")")
                return response
            case .memberIdRequired:
                // KIP-394: the coordinator names us first, so a retried join cannot leave a ghost member.
                membership.memberId = response.memberId
            default:
                try handleGroupError(code, step: "JoinGroup")
            }
        }
    }

    /// Runs the selected assignor; returns the SyncGroup assignments and the partition counts used.
    private func computeAssignments(_ join: JoinGroupResponse) async throws -> ([SyncGroupRequest.SyncGroupRequestAssignment], [String: Int32]) {
        let name = join.protocolName ?? ""
        guard let assignor = configuration.assignors.first(where: { $0.name == name }) else {
            throw KafkaConsumerError.groupMembershipFailed(.inconsistentGroupProtocol)
        }
        var members: [GroupMemberSubscription] = []
        for member in join.members {
            do {
                let subscription = try ConsumerProtocolCodec.decodeSubscription(member.metadata)
                members.append(ConsumerProtocolCodec.memberSubscription(memberId: member.memberId, groupInstanceId: member.groupInstanceId, subscription))
            } catch {
                // It still gets an (empty) assignment, so the group can settle.
                logger.warning("member \(member.memberId) sent an unreadable subscription: \(error)")
                members.append(GroupMemberSubscription(memberId: member.memberId, groupInstanceId: member.groupInstanceId, topics: []))
            }
        }
        let topics = Set(members.flatMap(\.topics))
        let metadata = try await cluster.refreshMetadata(topics: Array(topics))
        var result = try assignor.assign(members: members, metadata: metadata)
        if rebalanceProtocol == .cooperative {
            result = CooperativeRebalance.withholdingTransfers(result, members: members)
        }
        let assignments = try members.map { member in
            SyncGroupRequest.SyncGroupRequestAssignment(
                memberId: member.memberId,
                assignment: try ConsumerProtocolCodec.encodeAssignment(ConsumerProtocolCodec.assignment(result[member.memberId] ?? PartitionAssignment())))
        }
        logger.debug("assigned \(metadata.partitions(of: topics).count) partitions of \(topics.sorted()) to \(members.count) members with \(name)")
        return (assignments, metadata.partitionCounts(of: topics))
    }

    private func sendSyncGroup(assignments: [SyncGroupRequest.SyncGroupRequestAssignment]) async throws -> PartitionAssignment {
        let request = SyncGroupRequest(
            groupId: groupId, generationId: membership.generationId, memberId: membership.memberId,
            groupInstanceId: configuration.groupInstanceId, protocolType: "consumer", protocolName: membership.protocolName,
            assignments: assignments)
        let response = try await sendToCoordinator(request, timeout: configuration.rebalanceTimeout + .seconds(5))
        let code = KafkaErrorCode(response.errorCode)
        guard code == .noError else { try handleGroupError(code, step: "SyncGroup") }
        return ConsumerProtocolCodec.partitionAssignment(try ConsumerProtocolCodec.decodeAssignment(response.assignment))
    }

    /// Updates the membership for a JoinGroup/SyncGroup error and throws.
    private func handleGroupError(_ code: KafkaErrorCode, step: String) throws -> Never {
        switch code {
        case .unknownMemberId:
            membership.resetMember(reason: "\(step): \(code)")
        case .illegalGeneration:
            membership.resetGeneration(reason: "\(step): \(code)")
        case .fencedInstanceId:
            let error = KafkaConsumerError.fencedInstanceId(configuration.groupInstanceId ?? "")
            membership.fatalError = error
            throw error
        case .inconsistentGroupProtocol, .invalidSessionTimeout, .groupAuthorizationFailed, .invalidGroupId,
             .groupMaxSizeReached, .unreleasedInstanceId, .unsupportedVersion:
            let error = KafkaConsumerError.groupMembershipFailed(code)
            membership.fatalError = error
            throw error
        default:
            break
        }
        throw RetriableGroupError(code: code, step: step)
    }

    // MARK: Metadata changes

    private func refreshPatternSubscription() async throws {
        guard case let .pattern(pattern, matched) = subscription else { return }
        let metadata = try await cluster.refreshMetadata(all: true)
        let now = Set(metadata.topics.values.filter { !$0.isInternal && $0.error == .noError && pattern.matches($0.name) }.map(\.name))
        if now != matched {
            logger.info("pattern '\(pattern.source)' now matches \(now.sorted())")
            subscription = .pattern(pattern, matched: now)
        }
    }

    /// Rejoins when a pattern matches other topics, or a topic of the group changed partition count.
    private func checkMetadataForRebalance() async {
        do {
            if case let .pattern(_, matched) = subscription {
                try await refreshPatternSubscription()
                if subscription.topics != matched { membership.requestRejoin("subscribed topics changed") }
            }
            let topics = Set(membership.knownPartitionCounts.keys).union(subscription.topics)
            guard !topics.isEmpty else { return }
            let metadata = try await cluster.refreshMetadata(topics: Array(topics))
            metadataSnapshot = metadata
            let counts = metadata.partitionCounts(of: topics)
            if counts != membership.knownPartitionCounts {
                membership.requestRejoin("partition counts changed")
            }
        } catch {
            logger.debug("metadata check failed: \(error)")
        }
    }

    // MARK: Heartbeats

    /// Heartbeats every `heartbeatInterval` while the member is stable; the answer tells it
    /// when to rejoin.
    func runHeartbeatLoop() async {
        while !closed && !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeatInterval)
            guard !closed, subscription.isGroupManaged, membership.phase == .stable else { continue }
            let generation = membership.generationId
            let memberId = membership.memberId
            let request = HeartbeatRequest(groupId: groupId, generationId: generation, memberId: memberId, groupInstanceId: configuration.groupInstanceId)
            let code: KafkaErrorCode
            do {
                code = KafkaErrorCode(try await sendToCoordinator(request, timeout: min(configuration.client.requestTimeout, configuration.sessionTimeout)).errorCode)
            } catch {
                logger.debug("heartbeat failed: \(error)")
                continue
            }
            // An answer about an older generation says nothing about the current one.
            guard membership.generationId == generation, membership.memberId == memberId, membership.phase == .stable else { continue }
            switch code {
            case .noError:
                continue
            case .rebalanceInProgress:
                membership.requestRejoin("the group is rebalancing")
            case .illegalGeneration:
                membership.resetGeneration(reason: "heartbeat: \(code)")
            case .unknownMemberId:
                membership.resetMember(reason: "heartbeat: \(code)")
            case .fencedInstanceId:
                membership.fatalError = KafkaConsumerError.fencedInstanceId(configuration.groupInstanceId ?? "")
                dataSignal.signal()
            case .notCoordinator, .coordinatorNotAvailable:
                await coordinatorUnavailable()
                continue
            default:
                logger.debug("heartbeat: \(code)")
                continue
            }
            groupSignal.signal()
        }
    }

    // MARK: Leaving

    /// Revokes everything (committing first when auto commit is on) and sends LeaveGroup, so
    /// the group rebalances now rather than after the session timeout. Static members keep
    /// their place and send nothing.
    func leaveGroup(reason: String) async {
        let wasJoining = membership.phase == .joining
        membership.phase = .unjoined
        await revoke(Set(partitions.keys), lost: membership.generationIsStale)
        let memberId = membership.memberId
        if configuration.groupInstanceId == nil, !memberId.isEmpty {
            // A JoinGroup in flight holds the coordinator connection until the rebalance ends;
            // leave over a fresh one instead of waiting behind it.
            if wasJoining { await coordinatorUnavailable() }
            do {
                let connection = try await coordinator()
                let version = connection.negotiatedVersion(for: LeaveGroupRequest.self) ?? 0
                let request = version >= 3
                    ? LeaveGroupRequest(groupId: groupId, members: [LeaveGroupRequest.MemberIdentity(memberId: memberId, reason: reason)])
                    : LeaveGroupRequest(groupId: groupId, memberId: memberId)
                let response = try await sendToCoordinator(request)
                if response.errorCode != 0 { logger.debug("LeaveGroup: \(KafkaErrorCode(response.errorCode))") }
            } catch {
                logger.debug("LeaveGroup failed: \(error)")
            }
        }
        membership = GroupMembership()
    }
}

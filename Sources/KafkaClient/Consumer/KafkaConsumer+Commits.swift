import KafkaProtocol

extension KafkaConsumer {
    // MARK: Committing

    /// Commits the positions of every assigned partition (the offsets after the records `poll`
    /// returned) and waits for the coordinator's answer, retrying retriable errors.
    ///
    /// - Throws: `KafkaConsumerError.commitFailed` when the group has rebalanced since (the
    ///   partitions may be another member's now), `.groupIdRequired` without `group.id`.
    public func commit() async throws {
        try await commit(consumedOffsets())
    }

    /// Commits the given offsets (the next offset to read, with optional metadata) and waits.
    public func commit(_ offsets: [TopicPartition: OffsetAndMetadata]) async throws {
        try ensureOpen()
        guard configuration.groupId != nil else { throw KafkaConsumerError.groupIdRequired(operation: "commit") }
        try await sendCommit(offsets, retrying: true)
    }

    /// Commits the offset after `record`: it and everything before it in its partition count as processed.
    public func commit(upTo record: ConsumerRecord, metadata: String? = nil) async throws {
        try await commit([record.topicPartition: OffsetAndMetadata(offset: record.offset + 1, metadata: metadata, leaderEpoch: record.leaderEpoch)])
    }

    /// Starts a commit without waiting for it (of the current positions when `offsets` is nil).
    /// Commits are sent one after another in call order; `completion` reports each outcome.
    /// Failures are not retried: a later commit supersedes this one anyway.
    public func commitAsync(_ offsets: [TopicPartition: OffsetAndMetadata]? = nil,
                            completion: (@Sendable (Result<Void, any Error>) -> Void)? = nil) {
        guard !closed, configuration.groupId != nil else {
            completion?(.failure(closed ? KafkaConsumerError.closed : KafkaConsumerError.groupIdRequired(operation: "commitAsync")))
            return
        }
        let offsets = offsets ?? consumedOffsets()
        let previous = lastAsyncCommit
        lastAsyncCommit = Task {
            await previous?.value
            do {
                try await sendCommit(offsets, retrying: false)
                completion?(.success(()))
            } catch {
                completion?(.failure(error))
            }
        }
    }

    /// Positions of assigned partitions that have one, as offsets to commit.
    func consumedOffsets(of targets: Set<TopicPartition>? = nil) -> [TopicPartition: OffsetAndMetadata] {
        var offsets: [TopicPartition: OffsetAndMetadata] = [:]
        for (partition, state) in partitions where state.status == .ready && targets?.contains(partition) ?? true {
            offsets[partition] = OffsetAndMetadata(offset: state.position, leaderEpoch: state.positionLeaderEpoch)
        }
        return offsets
    }

    /// Auto commit: the positions that changed since the last commit. Errors are logged, not thrown.
    func autoCommit(_ targets: Set<TopicPartition>? = nil) async {
        guard configuration.enableAutoCommit, configuration.groupId != nil else { return }
        let offsets = consumedOffsets(of: targets).filter { lastCommitted[$0.key] != $0.value.offset }
        guard !offsets.isEmpty else { return }
        do {
            try await sendCommit(offsets, retrying: true)
        } catch {
            logger.warning("auto commit of \(offsets.count) partitions failed: \(error)")
        }
    }

    /// Commits every `autoCommitInterval` while the consumer is open.
    func runAutoCommitLoop() async {
        while !closed && !Task.isCancelled {
            try? await Task.sleep(for: configuration.autoCommitInterval)
            guard !closed else { return }
            if subscription.isGroupManaged && membership.phase != .stable { continue }
            await autoCommit()
        }
    }

    private func sendCommit(_ offsets: [TopicPartition: OffsetAndMetadata], retrying: Bool) async throws {
        guard !offsets.isEmpty else { return }
        let deadline = ContinuousClock.now + configuration.client.requestTimeout
        while true {
            let managed = subscription.isGroupManaged
            let generation = managed ? membership.generationId : -1
            let memberId = managed ? membership.memberId : ""
            if managed && generation < 0 { throw KafkaConsumerError.commitFailed(.illegalGeneration) }
            var byTopic: [String: [OffsetCommitRequest.OffsetCommitRequestPartition]] = [:]
            for (partition, offset) in offsets {
                byTopic[partition.topic, default: []].append(OffsetCommitRequest.OffsetCommitRequestPartition(
                    partitionIndex: partition.partition, committedOffset: offset.offset,
                    committedLeaderEpoch: offset.leaderEpoch ?? -1, committedMetadata: offset.metadata ?? ""))
            }
            let request = OffsetCommitRequest(
                groupId: groupId, generationIdOrMemberEpoch: generation, memberId: memberId,
                groupInstanceId: managed ? configuration.groupInstanceId : nil, retentionTimeMs: -1,
                topics: byTopic.keys.sorted().map { OffsetCommitRequest.OffsetCommitRequestTopic(name: $0, partitions: byTopic[$0]!) })
            let code: KafkaErrorCode
            do {
                let response = try await sendToCoordinator(request)
                code = response.topics.lazy.flatMap(\.partitions).map { KafkaErrorCode($0.errorCode) }.first { $0 != .noError } ?? .noError
            } catch let error as KafkaClientError where error.isConnectionFailure {
                guard retrying, ContinuousClock.now < deadline, !closed else { throw error }
                try await Task.sleep(for: configuration.client.retryBackoff)
                continue
            }
            switch code {
            case .noError:
                for (partition, offset) in offsets { lastCommitted[partition] = offset.offset }
                return
            case .notCoordinator, .coordinatorNotAvailable, .coordinatorLoadInProgress, .requestTimedOut, .unknownTopicOrPartition:
                if Self.isCoordinatorError(code) { await coordinatorUnavailable() }
                guard retrying, ContinuousClock.now < deadline, !closed else {
                    throw KafkaClientError.broker(KafkaResponseError(code: code, context: "commit offsets of group '\(groupId)'"))
                }
                try await Task.sleep(for: configuration.client.retryBackoff)
            case .illegalGeneration, .unknownMemberId, .rebalanceInProgress:
                // Only the generation the commit was made in is stale; a newer one stays.
                if managed && membership.generationId == generation && membership.memberId == memberId {
                    switch code {
                    case .unknownMemberId: membership.resetMember(reason: "commit: \(code)")
                    case .illegalGeneration: membership.resetGeneration(reason: "commit: \(code)")
                    default: membership.requestRejoin("commit: \(code)")
                    }
                    groupSignal.signal()
                }
                throw KafkaConsumerError.commitFailed(code)
            case .fencedInstanceId:
                let error = KafkaConsumerError.fencedInstanceId(configuration.groupInstanceId ?? "")
                membership.fatalError = error
                throw error
            default:
                throw KafkaClientError.broker(KafkaResponseError(code: code, context: "commit offsets of group '\(groupId)'"))
            }
        }
    }

    // MARK: Reading committed offsets

    /// The group's committed offsets for these partitions; partitions without one are left out.
    public func committed(_ targets: Set<TopicPartition>) async throws -> [TopicPartition: OffsetAndMetadata] {
        try ensureOpen()
        guard configuration.groupId != nil else { throw KafkaConsumerError.groupIdRequired(operation: "committed") }
        return try await fetchCommittedOffsets(targets)
    }

    /// OffsetFetch, retrying coordinator moves and, under read_committed, offsets still pending
    /// in an open transaction (UNSTABLE_OFFSET_COMMIT, KIP-447).
    func fetchCommittedOffsets(_ targets: Set<TopicPartition>) async throws -> [TopicPartition: OffsetAndMetadata] {
        guard !targets.isEmpty else { return [:] }
        let deadline = ContinuousClock.now + configuration.client.requestTimeout
        let grouped = ConsumerProtocolCodec.grouped(Array(targets))
        let requireStable = configuration.isolationLevel == .readCommitted
        while true {
            var code = KafkaErrorCode.noError
            var result: [TopicPartition: OffsetAndMetadata] = [:]
            do {
                let connection = try await coordinator()
                let version = connection.negotiatedVersion(for: OffsetFetchRequest.self) ?? 1
                let request: OffsetFetchRequest
                if version >= 8 {
                    request = OffsetFetchRequest(groups: [OffsetFetchRequest.OffsetFetchRequestGroup(
                        groupId: groupId, topics: grouped.map { OffsetFetchRequest.OffsetFetchRequestTopics(name: $0.topic, partitionIndexes: $0.partitions) })],
                        requireStable: requireStable)
                } else {
                    request = OffsetFetchRequest(
                        groupId: groupId, topics: grouped.map { OffsetFetchRequest.OffsetFetchRequestTopic(name: $0.topic, partitionIndexes: $0.partitions) },
                        requireStable: version >= 7 && requireStable)
                }
                let response = try await sendToCoordinator(request)
                func take(_ topic: String, _ partition: Int32, _ offset: Int64, _ epoch: Int32, _ metadata: String?, _ error: Int16) {
                    if error != 0 && code == .noError { code = KafkaErrorCode(error) }
                    guard error == 0, offset >= 0 else { return }
                    result[TopicPartition(topic, partition)] = OffsetAndMetadata(offset: offset, metadata: metadata, leaderEpoch: epoch >= 0 ? epoch : nil)
                }
                if version >= 8 {
                    for group in response.groups {
                        if group.errorCode != 0 { code = KafkaErrorCode(group.errorCode) }
                        for topic in group.topics {
                            for p in topic.partitions { take(topic.name, p.partitionIndex, p.committedOffset, p.committedLeaderEpoch, p.metadata, p.errorCode) }
                        }
                    }
                } else {
                    if response.errorCode != 0 { code = KafkaErrorCode(response.errorCode) }
                    for topic in response.topics {
                        for p in topic.partitions { take(topic.name, p.partitionIndex, p.committedOffset, p.committedLeaderEpoch, p.metadata, p.errorCode) }
                    }
                }
            } catch let error as KafkaClientError where error.isConnectionFailure {
                guard ContinuousClock.now < deadline, !closed else { throw error }
                try await Task.sleep(for: configuration.client.retryBackoff)
                continue
            }
            switch code {
            case .noError:
                return result
            case .notCoordinator, .coordinatorNotAvailable, .coordinatorLoadInProgress, .unstableOffsetCommit, .requestTimedOut:
                if Self.isCoordinatorError(code) { await coordinatorUnavailable() }
                guard ContinuousClock.now < deadline, !closed else {
                    throw KafkaClientError.broker(KafkaResponseError(code: code, context: "committed offsets of group '\(groupId)'"))
                }
                try await Task.sleep(for: configuration.client.retryBackoff)
            default:
                throw KafkaClientError.broker(KafkaResponseError(code: code, context: "committed offsets of group '\(groupId)'"))
            }
        }
    }
}

import KafkaProtocol

extension KafkaConsumer {
    /// Finds a position for every partition waiting for one: the committed offset when the
    /// partition waits for it (and `group.id` is set), else the reset policy through ListOffsets.
    /// One lookup runs at a time; a request during it runs another pass afterwards.
    func resolvePositions() {
        guard !closed else { return }
        if positionLookupInFlight {
            positionLookupAgain = true
            return
        }
        positionLookupInFlight = true
        Task {
            repeat {
                positionLookupAgain = false
                await resolvePositionsOnce()
            } while positionLookupAgain && !closed
            positionLookupInFlight = false
        }
    }

    private func resolvePositionsOnce() async {
        var failed = false
        let awaitingCommitted = partitions.filter { $0.value.status == .awaitingCommitted }.mapValues(\.epoch)
        if !awaitingCommitted.isEmpty {
            if configuration.groupId == nil {
                for partition in awaitingCommitted.keys { partitions[partition]?.status = .awaitingReset(configuration.autoOffsetReset) }
            } else {
                do {
                    let committed = try await fetchCommittedOffsets(Set(awaitingCommitted.keys))
                    for (partition, epoch) in awaitingCommitted {
                        guard var state = partitions[partition], state.epoch == epoch, state.status == .awaitingCommitted else { continue }
                        if let offset = committed[partition], offset.offset >= 0 {
                            _ = state.seek(to: offset.offset, leaderEpoch: offset.leaderEpoch)
                            state.epoch = epoch + 1
                        } else {
                            state.status = .awaitingReset(configuration.autoOffsetReset)
                        }
                        partitions[partition] = state
                    }
                } catch {
                    logger.debug("committed offsets lookup failed: \(error)")
                    failed = true
                }
            }
        }

        var resets: [TopicPartition: (OffsetResetStrategy, Int)] = [:]
        for (partition, state) in partitions {
            if case let .awaitingReset(strategy) = state.status { resets[partition] = (strategy, state.epoch) }
        }
        var lookups: [TopicPartition: OffsetSpec] = [:]
        for (partition, (strategy, _)) in resets {
            switch strategy {
            case .earliest: lookups[partition] = .earliest
            case .latest: lookups[partition] = .latest
            case .none:
                partitions[partition]?.status = .failed
                pendingErrors.append(KafkaConsumerError.noOffset(partition))
                dataSignal.signal()
            }
        }
        if !lookups.isEmpty {
            do {
                let offsets = try await listOffsets(lookups)
                for (partition, offset) in offsets {
                    guard let (_, epoch) = resets[partition], var state = partitions[partition], state.epoch == epoch else { continue }
                    guard case .awaitingReset = state.status else { continue }
                    _ = state.seek(to: offset)
                    state.epoch = epoch + 1
                    partitions[partition] = state
                }
                if offsets.count < lookups.count { failed = true }
            } catch {
                logger.debug("offset reset lookup failed: \(error)")
                failed = true
            }
        }
        positionSignal.signal()
        scheduleFetches()
        if failed && !closed {
            try? await Task.sleep(for: configuration.client.retryBackoff)
            positionLookupAgain = true
        }
    }

    /// ListOffsets to each partition's leader; partitions whose lookup failed are left out.
    func listOffsets(_ specs: [TopicPartition: OffsetSpec]) async throws -> [TopicPartition: Int64] {
        var byLeader: [Int32: [(TopicPartition, OffsetSpec)]] = [:]
        var missingLeader = false
        let metadata = try await cluster.metadata(for: Array(Set(specs.keys.map(\.topic))))
        metadataSnapshot = metadata
        for (partition, spec) in specs {
            guard let leader = metadata.leader(for: partition) else {
                missingLeader = true
                continue
            }
            byLeader[leader, default: []].append((partition, spec))
        }
        if missingLeader { await cluster.invalidateMetadata() }
        var result: [TopicPartition: Int64] = [:]
        for (leader, entries) in byLeader {
            var byTopic: [String: [ListOffsetsRequest.ListOffsetsPartition]] = [:]
            for (partition, spec) in entries {
                // currentLeaderEpoch (v4+): a leader with another epoch refuses instead of answering from a stale view.
                byTopic[partition.topic, default: []].append(ListOffsetsRequest.ListOffsetsPartition(
                    partitionIndex: partition.partition, currentLeaderEpoch: metadata.leaderEpoch(for: partition), timestamp: spec.wireValue))
            }
            let request = ListOffsetsRequest(
                replicaId: -1, isolationLevel: configuration.isolationLevel.wireValue,
                topics: byTopic.map { ListOffsetsRequest.ListOffsetsTopic(name: $0.key, partitions: $0.value) })
            let response = try await cluster.send(request, toNode: leader)
            for topic in response.topics {
                for partition in topic.partitions {
                    let code = KafkaErrorCode(partition.errorCode)
                    guard code == .noError else {
                        logger.debug("ListOffsets of \(topic.name)-\(partition.partitionIndex): \(code)")
                        await cluster.invalidateMetadata()
                        continue
                    }
                    result[TopicPartition(topic.name, partition.partitionIndex)] = partition.offset >= 0 ? partition.offset : partition.oldStyleOffsets.first
                }
            }
        }
        return result
    }
}

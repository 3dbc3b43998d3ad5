import KafkaProtocol
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One partition of a Fetch request, with the state it was requested under.
struct PlannedFetch: Sendable {
    var partition: TopicPartition
    var fetchOffset: Int64
    var epoch: Int
    /// The leader epoch metadata named for the leader the fetch goes to (-1 when unknown), sent as
    /// `currentLeaderEpoch` (Fetch v9+, KIP-320): a leader with another epoch refuses the fetch
    /// with FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH instead of serving a stale view.
    var currentLeaderEpoch: Int32
}

/// A partition's share of a Fetch response, decoded.
struct FetchedPartition: Sendable {
    var planned: PlannedFetch
    var error: KafkaErrorCode
    var watermarks: PartitionWatermarks
    var decoded: DecodedPartitionRecords
}

extension KafkaConsumer {
    /// Sends a Fetch to every leader that has fetchable partitions and no fetch in flight.
    ///
    /// Called whenever something may have made a partition fetchable: assignment, a resolved
    /// position, a poll that drained the buffer, a completed fetch, resume, the end of a backoff.
    func scheduleFetches() {
        guard !closed, bufferedBytes < configuration.maxBufferedBytes else { return }
        let now = ContinuousClock.now
        var byLeader: [Int32: [PlannedFetch]] = [:]
        var leaderMissing = false
        var nextRetry: ContinuousClock.Instant?
        for partition in partitionOrder {
            guard let state = partitions[partition], state.status == .ready, !state.paused, !state.revoking,
                  state.bufferedRecords < configuration.minBufferedRecords else { continue }
            if let retryAt = state.retryAt, retryAt > now {
                nextRetry = min(nextRetry ?? retryAt, retryAt)
                continue
            }
            guard let leader = metadataSnapshot.leader(for: partition) else {
                leaderMissing = true
                continue
            }
            guard !fetchesInFlight.contains(leader) else { continue }
            byLeader[leader, default: []].append(PlannedFetch(partition: partition, fetchOffset: state.fetchOffset, epoch: state.epoch,
                                                              currentLeaderEpoch: metadataSnapshot.leaderEpoch(for: partition)))
        }
        if leaderMissing { refreshMetadataInBackground() }
        if let nextRetry { scheduleFetchRetry(at: nextRetry) }
        for (leader, planned) in byLeader {
            fetchesInFlight.insert(leader)
            fetchRotation &+= 1
            let rotation = fetchRotation % planned.count
            let ordered = Array(planned[rotation...] + planned[..<rotation])
            Task { await self.fetch(from: leader, ordered) }
        }
    }

    private func scheduleFetchRetry(at instant: ContinuousClock.Instant) {
        if let pending = fetchRetryTimerAt, pending <= instant { return }
        fetchRetryTimerAt = instant
        Task {
            try? await Task.sleep(until: instant)
            if self.fetchRetryTimerAt == instant { self.fetchRetryTimerAt = nil }
            self.scheduleFetches()
        }
    }

    /// Refreshes the metadata of the assigned topics, then retries fetching.
    func refreshMetadataInBackground() {
        guard !metadataRefreshInFlight, !closed else { return }
        metadataRefreshInFlight = true
        let topics = Array(Set(partitionOrder.map(\.topic)))
        Task {
            do {
                metadataSnapshot = try await cluster.refreshMetadata(topics: topics)
                metadataRefreshInFlight = false
            } catch {
                logger.debug("metadata refresh failed: \(error)")
                try? await Task.sleep(for: configuration.client.retryBackoff)
                metadataRefreshInFlight = false
            }
            scheduleFetches()
        }
    }

    private func fetch(from leader: Int32, _ planned: [PlannedFetch]) async {
        defer {
            fetchesInFlight.remove(leader)
            scheduleFetches()
        }
        var connection: KafkaConnection?
        do {
            let open = try await cluster.connection(toNode: leader)
            connection = open
            let (request, version, topicNames) = makeFetchRequest(planned, connection: open)
            let response = try await open.send(request, version: version, timeout: configuration.client.requestTimeout + configuration.fetchMaxWait)
            guard !closed else { return }
            if response.errorCode != 0 {
                logger.debug("fetch from node \(leader) failed: \(KafkaErrorCode(response.errorCode))")
                backOff(planned)
                return
            }
            let fetched = await Self.decode(response, planned: planned, topicNames: topicNames,
                                            readCommitted: configuration.isolationLevel == .readCommitted,
                                            options: RecordDecodingOptions(verifyChecksums: configuration.checkCRCs),
                                            pieceSize: configuration.maxPollRecords)
            apply(fetched)
        } catch {
            guard !closed else { return }
            logger.debug("fetch from node \(leader) failed: \(error)")
            if let connection, let clientError = error as? KafkaClientError, clientError.isConnectionFailure {
                await cluster.connectionFailed(connection)
            }
            await cluster.invalidateMetadata()
            backOff(planned)
            refreshMetadataInBackground()
        }
    }

    /// The request, the version to send it at, and the topic names by id for versions that name topics by id.
    private func makeFetchRequest(_ planned: [PlannedFetch], connection: KafkaConnection) -> (FetchRequest, Int16, [UUID: String]) {
        var topicOrder: [String] = []
        var byTopic: [String: [FetchRequest.FetchPartition]] = [:]
        for entry in planned {
            if byTopic[entry.partition.topic] == nil { topicOrder.append(entry.partition.topic) }
            byTopic[entry.partition.topic, default: []].append(FetchRequest.FetchPartition(
                partition: entry.partition.partition, currentLeaderEpoch: entry.currentLeaderEpoch, fetchOffset: entry.fetchOffset,
                partitionMaxBytes: configuration.maxPartitionFetchBytes))
        }
        var version = connection.negotiatedVersion(for: FetchRequest.self) ?? 4
        // From version 13 topics are named by id; use it only when every id is known.
        var ids: [String: UUID] = [:]
        for topic in topicOrder {
            if let id = metadataSnapshot.topics[topic]?.id, id != Self.zeroUUID { ids[topic] = id }
        }
        if version >= 13 && ids.count < topicOrder.count { version = 12 }
        let request = FetchRequest(
            replicaId: -1, maxWaitMs: Int32(clamping: configuration.fetchMaxWait.milliseconds),
            minBytes: configuration.fetchMinBytes, maxBytes: configuration.fetchMaxBytes,
            isolationLevel: configuration.isolationLevel.wireValue,
            sessionId: 0, sessionEpoch: -1,
            topics: topicOrder.map { FetchRequest.FetchTopic(topic: $0, topicId: ids[$0] ?? Self.zeroUUID, partitions: byTopic[$0]!) })
        let names = version >= 13 ? Dictionary(ids.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first }) : [:]
        return (request, version, names)
    }

    static let zeroUUID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// Decodes the records off the actor, so the application's processing of earlier records,
    /// the network and decompression run in parallel.
    @concurrent
    nonisolated static func decode(_ response: FetchResponse, planned: [PlannedFetch], topicNames: [UUID: String],
                                   readCommitted: Bool, options: RecordDecodingOptions, pieceSize: Int) async -> [FetchedPartition] {
        var plans: [TopicPartition: PlannedFetch] = [:]
        for entry in planned { plans[entry.partition] = entry }
        var work: [(plan: PlannedFetch, data: FetchResponse.PartitionData)] = []
        for topic in response.responses {
            let name = topic.topic.isEmpty ? (topicNames[topic.topicId] ?? "") : topic.topic
            for data in topic.partitions {
                guard let plan = plans[TopicPartition(name, data.partitionIndex)] else { continue }
                work.append((plan, data))
            }
        }
        @Sendable func decodeOne(_ plan: PlannedFetch, _ data: FetchResponse.PartitionData) -> FetchedPartition {
            let error = KafkaErrorCode(data.errorCode)
            let watermarks = PartitionWatermarks(logStartOffset: data.logStartOffset, highWatermark: data.highWatermark,
                                                 lastStableOffset: data.lastStableOffset)
            var decoded = DecodedPartitionRecords(nextFetchOffset: plan.fetchOffset, fetchedBytes: 0, corruption: nil)
            if error == .noError, let records = data.records, records.readableBytes > 0 {
                decoded = FetchedPartitionDecoder.decode(
                    topic: plan.partition.topic, partition: plan.partition.partition, records: records, fetchOffset: plan.fetchOffset,
                    abortedTransactions: data.abortedTransactions, readCommitted: readCommitted, options: options, pieceSize: pieceSize)
            }
            return FetchedPartition(planned: plan, error: error, watermarks: watermarks, decoded: decoded)
        }
        // Partitions with much data decode in parallel; small ones are not worth a task each.
        let large = work.indices.filter { (work[$0].data.records?.readableBytes ?? 0) >= Self.parallelDecodeThreshold }
        guard large.count > 1 else { return work.map { decodeOne($0.plan, $0.data) } }
        var result = [FetchedPartition?](repeating: nil, count: work.count)
        await withTaskGroup(of: (Int, FetchedPartition).self) { group in
            for index in large {
                let (plan, data) = work[index]
                group.addTask { (index, decodeOne(plan, data)) }
            }
            for index in work.indices where !large.contains(index) { result[index] = decodeOne(work[index].plan, work[index].data) }
            for await (index, decoded) in group { result[index] = decoded }
        }
        return result.map { $0! }
    }

    /// Fetched bytes from which a partition's data is decoded in a task of its own.
    static let parallelDecodeThreshold = 64 * 1024

    /// Buffers fetched records of partitions whose state has not moved since the request.
    private func apply(_ fetched: [FetchedPartition]) {
        var delivered = false
        var needMetadata = false
        var needPositions = false
        for entry in fetched {
            let partition = entry.planned.partition
            guard var state = partitions[partition], state.epoch == entry.planned.epoch else { continue }
            if entry.error == .noError { state.watermarks = entry.watermarks }
            guard state.status == .ready, state.fetchOffset == entry.planned.fetchOffset else {
                partitions[partition] = state
                continue
            }
            switch entry.error {
            case .noError:
                let decoded = entry.decoded
                if decoded.nextFetchOffset > state.fetchOffset || !decoded.pieces.isEmpty {
                    // One chunk per piece; the last carries the fetch's end offset and its bytes.
                    let pieces = decoded.pieces.isEmpty ? [[]] : decoded.pieces
                    for (index, piece) in pieces.enumerated() {
                        let last = index == pieces.count - 1
                        state.chunks.append(.init(records: piece, nextFetchOffset: last ? decoded.nextFetchOffset : piece.last!.offset + 1,
                                                  bytes: last ? decoded.fetchedBytes : 0))
                        state.bufferedRecords += piece.count
                    }
                    state.bufferedBytes += decoded.fetchedBytes
                    bufferedBytes += decoded.fetchedBytes
                    state.fetchOffset = decoded.nextFetchOffset
                    delivered = true
                }
                if let corruption = decoded.corruption {
                    // Records before the bad batch are still delivered; then the partition stops
                    // until the application seeks past it.
                    state.status = .failed
                    pendingErrors.append(corruption)
                    delivered = true
                }
            case .offsetOutOfRange:
                logger.info("offset \(entry.planned.fetchOffset) out of range for \(partition) (log \(entry.watermarks.logStartOffset)..<\(entry.watermarks.highWatermark))")
                if configuration.autoOffsetReset == .none {
                    _ = state.discardBuffer()
                    state.status = .failed
                    pendingErrors.append(KafkaConsumerError.offsetOutOfRange(partition, offset: entry.planned.fetchOffset))
                    delivered = true
                } else {
                    bufferedBytes -= state.requestPosition(.awaitingReset(configuration.autoOffsetReset))
                    needPositions = true
                }
            case .notLeaderOrFollower, .unknownTopicOrPartition, .leaderNotAvailable, .fencedLeaderEpoch, .unknownLeaderEpoch,
                 .kafkaStorageError, .replicaNotAvailable, .offsetNotAvailable, .unknownTopicId, .inconsistentTopicId:
                logger.debug("fetch of \(partition): \(entry.error); refreshing metadata")
                state.retryAt = .now + configuration.client.retryBackoff
                needMetadata = true
            default:
                logger.warning("fetch of \(partition) failed: \(entry.error)")
                state.retryAt = .now + configuration.client.retryBackoff
            }
            partitions[partition] = state
        }
        if needMetadata {
            Task { await cluster.invalidateMetadata() }
            refreshMetadataInBackground()
        }
        if needPositions { resolvePositions() }
        if delivered { dataSignal.signal() }
    }

    private func backOff(_ planned: [PlannedFetch]) {
        let retryAt = ContinuousClock.now + configuration.client.retryBackoff
        for entry in planned where partitions[entry.partition]?.epoch == entry.epoch {
            partitions[entry.partition]?.retryAt = retryAt
        }
    }
}

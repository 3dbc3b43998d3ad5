import KafkaProtocol
import Logging
import NIOCore
import Synchronization

/// The producer's background loop: drains ready batches from the accumulator, writes one
/// produce request per leader, and applies each response when it arrives.
///
/// The loop itself never waits on the network. Connecting to a leader, refreshing metadata and
/// InitProducerId run as separate tasks that wake the loop when done; responses are handled on
/// the connection's event loop as they arrive, without a task per request. The loop sleeps
/// until something changes (`SenderWakeup`) or the next deadline.
final class Sender: Sendable {
    private struct State {
        var connections: [Int32: KafkaConnection] = [:]
        var connecting: Set<Int32> = []
        var metadataInProgress = false
        var metadataWanted = false
        var metadataNotBefore = NIODeadline.uptimeNanoseconds(0)
        var lastMetadataRefresh = NIODeadline.now()
        var producerIdInProgress = false
        var producerIdNotBefore = NIODeadline.uptimeNanoseconds(0)
        var stopped = false
    }

    private let accumulator: RecordAccumulator
    private let cluster: KafkaCluster
    private let targets: CompletionTargets
    private let wakeup: SenderWakeup
    private let idManager: ProducerIdManager
    private let logger: Logger
    private let acks: Int16
    private let requestTimeout: Duration
    private let retryBackoff: TimeAmount
    private let metadataMaxAge: TimeAmount
    private let allowAutoTopicCreation: Bool
    private let transactions: TransactionManager?
    /// How long AddPartitionsToTxn keeps retrying a coordinator that is busy or moving.
    private let coordinatorTimeout: Duration
    private let coordinatorBackoff: Duration
    private let state = Mutex(State())

    init(accumulator: RecordAccumulator, cluster: KafkaCluster, configuration: ProducerConfiguration,
         targets: CompletionTargets, wakeup: SenderWakeup, idManager: ProducerIdManager,
         transactions: TransactionManager? = nil, logger: Logger) {
        self.accumulator = accumulator
        self.cluster = cluster
        self.targets = targets
        self.wakeup = wakeup
        self.idManager = idManager
        self.logger = logger
        self.acks = configuration.acks.rawValue
        self.requestTimeout = configuration.requestTimeout
        self.retryBackoff = configuration.client.retryBackoff.timeAmount
        self.metadataMaxAge = configuration.client.metadataMaxAge.timeAmount
        self.allowAutoTopicCreation = configuration.allowAutoTopicCreation
        self.transactions = transactions
        self.coordinatorTimeout = configuration.maxBlock
        self.coordinatorBackoff = configuration.client.retryBackoff
    }

    /// Wakes the loop: a batch started or filled, a flush or close began, a caller waits for room.
    func wake() {
        wakeup.signal()
    }

    /// Ends the loop at its next turn, whatever is left (after `abortAll`).
    func stop() {
        state.withLock { $0.stopped = true }
        wakeup.signal()
    }

    /// Runs until the accumulator is closed and empty, or `stop()`.
    func run() async {
        while true {
            let now = NIODeadline.now()
            let ready = readyNodes()
            let plan: RecordAccumulator.DrainPlan
            if let transactions {
                plan = accumulator.drain(now: now, readyNodes: ready, verdict: transactions.verdict)
                if let add = transactions.takePartitionsToAdd() { addPartitions(add) }
            } else {
                plan = accumulator.drain(now: now, readyNodes: ready)
            }
            targets.fire(plan.completions)
            if plan.isFinished || state.withLock({ $0.stopped }) { break }

            for node in plan.nodesToConnect { connect(to: node) }
            let metadataDue = state.withLock { state -> Bool in
                let due = plan.wantsMetadata || state.metadataWanted || now - state.lastMetadataRefresh > metadataMaxAge
                return due && !state.metadataInProgress && now >= state.metadataNotBefore
            }
            if metadataDue { refreshMetadata() }
            // A transactional producer's id comes from initTransactions() and epoch bumps after aborts.
            if plan.wantsProducerId && transactions == nil { initProducerId(now: now) }
            for request in plan.requests { send(request) }

            var deadline = plan.nextWakeup
            let backoffs = state.withLock { state -> [NIODeadline] in
                var times: [NIODeadline] = []
                if (plan.wantsMetadata || state.metadataWanted) && !state.metadataInProgress { times.append(state.metadataNotBefore) }
                if plan.wantsProducerId && !state.producerIdInProgress { times.append(state.producerIdNotBefore) }
                return times
            }
            for time in backoffs { deadline = min(deadline ?? time, time) }
            await wakeup.wait(until: deadline)
        }
        // The connections belong to the cluster, which closes them.
        state.withLock { $0.connections.removeAll() }
    }

    // MARK: Connections

    private func readyNodes() -> Set<Int32> {
        state.withLock { state in
            var ready: Set<Int32> = []
            for (node, connection) in state.connections {
                if connection.isActive { ready.insert(node) } else { state.connections[node] = nil }
            }
            return ready
        }
    }

    /// Opens (or reuses) the cluster's connection to `node` in the background.
    private func connect(to node: Int32) {
        let start = state.withLock { state -> Bool in
            guard !state.connecting.contains(node), !state.stopped else { return false }
            state.connecting.insert(node)
            return true
        }
        guard start else { return }
        Task {
            do {
                let connection = try await cluster.connection(toNode: node)
                state.withLock { state in
                    state.connections[node] = connection
                    state.connecting.remove(node)
                }
            } catch {
                logger.debug("cannot connect to node \(node): \(error)")
                accumulator.nodeFailed(node, reason: "\(error)")
                state.withLock { state in
                    state.connecting.remove(node)
                    state.metadataWanted = true
                }
            }
            wakeup.signal()
        }
    }

    /// Drops a connection that failed, so that the next drain reconnects.
    private func connectionFailed(_ connection: KafkaConnection, node: Int32) {
        state.withLock { state in
            if state.connections[node] === connection { state.connections[node] = nil }
            state.metadataWanted = true
        }
        let cluster = cluster
        Task { await cluster.connectionFailed(connection) }
    }

    // MARK: Metadata and producer id

    private func refreshMetadata() {
        state.withLock { state in
            state.metadataInProgress = true
            state.metadataWanted = false
        }
        Task {
            var failed = false
            do {
                let topics = accumulator.topicNames
                let metadata = try await cluster.refreshMetadata(topics: topics, allowAutoTopicCreation: allowAutoTopicCreation)
                accumulator.updateMetadata(metadata)
            } catch {
                failed = true
                logger.debug("metadata refresh failed: \(error)")
                accumulator.everyPartitionFailed(.connection("metadata: \(error)"))
            }
            let now = NIODeadline.now()
            state.withLock { state in
                state.metadataInProgress = false
                state.lastMetadataRefresh = now
                state.metadataNotBefore = now + retryBackoff
                if failed { state.metadataWanted = true }
            }
            wakeup.signal()
        }
    }

    private func initProducerId(now: NIODeadline) {
        let start = state.withLock { state -> Bool in
            guard !state.producerIdInProgress, now >= state.producerIdNotBefore else { return false }
            state.producerIdInProgress = true
            return true
        }
        guard start else { return }
        Task {
            do {
                let identity = try await idManager.initProducerId(cluster: cluster)
                logger.debug("idempotent producer: \(identity)")
                accumulator.installIdentity(identity)
            } catch {
                logger.debug("InitProducerId failed: \(error)")
                let failure: ProduceFailure
                if case .broker(let response)? = error as? KafkaClientError {
                    failure = .broker(response.code, message: "InitProducerId")
                } else {
                    failure = .connection("InitProducerId: \(error)")
                }
                accumulator.everyPartitionFailed(failure)
            }
            let now = NIODeadline.now()
            state.withLock { state in
                state.producerIdInProgress = false
                state.producerIdNotBefore = now + retryBackoff
            }
            wakeup.signal()
        }
    }

    // MARK: Transactions

    /// Adds partitions to the open transaction (AddPartitionsToTxn) in the background; their
    /// batches wait in the accumulator until the coordinator confirms.
    private func addPartitions(_ add: (identity: ProducerIdentity, generation: UInt64, partitions: [TopicPartition])) {
        guard let transactions else { return }
        let requester = CoordinatorRequester(cluster: cluster, retryBackoff: coordinatorBackoff, deadline: .now + coordinatorTimeout)
        let byTopic = Dictionary(grouping: add.partitions, by: \.topic)
        let request = AddPartitionsToTxnRequest(
            v3AndBelowTransactionalId: transactions.transactionalId, v3AndBelowProducerId: add.identity.producerId,
            v3AndBelowProducerEpoch: add.identity.epoch,
            v3AndBelowTopics: byTopic.keys.sorted().map { topic in
                AddPartitionsToTxnRequest.AddPartitionsToTxnTopic(name: topic, partitions: byTopic[topic]!.map(\.partition).sorted())
            })
        let logger = logger
        let wakeup = wakeup
        Task {
            var added: [TopicPartition] = []
            do throws(KafkaProducerError) {
                let (_, code) = try await requester.send(request, maxVersion: 3, key: transactions.transactionalId, type: .transaction,
                                                         what: "AddPartitionsToTxn", code: Self.addPartitionsCode)
                if code == .noError {
                    added = add.partitions
                } else {
                    transactions.refused(KafkaResponseError(code: code, context: "AddPartitionsToTxn \(add.partitions.map(\.description).joined(separator: ", "))"))
                }
            } catch {
                logger.debug("AddPartitionsToTxn failed: \(error)")
                if case .transactionFatal(let response) = error {
                    transactions.fatal(response)
                } else {
                    transactions.abortable("AddPartitionsToTxn: \(error)")
                }
            }
            transactions.partitionsAnswered(generation: add.generation, added: added)
            wakeup.signal()
        }
    }

    /// The code that decides an AddPartitionsToTxn answer: a real error before a retriable one,
    /// OPERATION_NOT_ATTEMPTED (another partition failed) only if nothing else is there.
    private static func addPartitionsCode(_ response: AddPartitionsToTxnResponse) -> KafkaErrorCode {
        if response.errorCode != 0 { return KafkaErrorCode(response.errorCode) }
        let codes = response.resultsByTopicV3AndBelow.flatMap { $0.resultsByPartition.map { KafkaErrorCode($0.partitionErrorCode) } }
            .filter { $0 != .noError }
        if let final = codes.first(where: { $0 != .operationNotAttempted && !CoordinatorRequester.retriable.contains($0) && !CoordinatorRequester.moved.contains($0) }) {
            return final
        }
        return codes.first(where: { $0 != .operationNotAttempted }) ?? codes.first ?? .noError
    }

    // MARK: Requests

    private func send(_ request: RecordAccumulator.RequestPlan) {
        let node = request.node
        guard let connection = state.withLock({ $0.connections[node] }), connection.isActive else {
            finish(node: node, request.batches.map { ($0, .failure(.notSent("no connection to node \(node)"))) })
            return
        }
        guard let version = connection.negotiatedVersion(for: ProduceRequest.self), version >= ProduceRequestWriter.minimumVersion else {
            let failure = ProduceFailure.broker(.unsupportedVersion, message: "\(connection.broker) offers no Produce version with record batches (v3+)")
            finish(node: node, request.batches.map { ($0, .failure(failure)) })
            return
        }
        let batches = request.batches
        let acks = acks
        let timeoutMs = Int32(clamping: requestTimeout.milliseconds)
        let transactionalId = idManager.transactionalId
        let future: EventLoopFuture<ByteBuffer>
        do {
            future = try connection.sendFrame(
                ProduceRequest.self, version: version, expectsResponse: acks != 0, timeout: requestTimeout,
                capacity: ProduceRequestWriter.capacity(for: batches)
            ) { buffer in
                try ProduceRequestWriter.write(batches, acks: acks, timeoutMs: timeoutMs, transactionalId: transactionalId,
                                               version: version, into: &buffer)
            }
        } catch let failure as ProduceRequestWriter.EncodingFailure {
            // Fail the batch that cannot be encoded; the others go again in a later request.
            finish(node: node, batches.map { batch in
                batch === failure.batch ? (batch, .failure(.encoding(failure.reason))) : (batch, .failure(.notSent("request not sent: another batch failed to encode")))
            })
            return
        } catch {
            finish(node: node, batches.map { ($0, .failure(.encoding("\(error)"))) })
            return
        }
        future.whenComplete { [self] result in
            switch result {
            case .success(var frame):
                guard acks != 0 else {
                    finish(node: node, batches.map { ($0, .success(BatchAcknowledgement(baseOffset: -1, logAppendTime: -1))) })
                    return
                }
                do {
                    let response = try connection.decodeResponse(ProduceRequest.self, from: &frame, version: version)
                    finish(node: node, Self.outcomes(of: batches, in: response))
                } catch {
                    connectionFailed(connection, node: node)
                    finish(node: node, batches.map { ($0, .failure(.connection("\(error)"))) })
                }
            case .failure(let error):
                if let clientError = error as? KafkaClientError, !clientError.isConnectionFailure {
                    finish(node: node, batches.map { ($0, .failure(.connection("\(clientError)"))) })
                } else {
                    connectionFailed(connection, node: node)
                    finish(node: node, batches.map { ($0, .failure(.connection("\(error)"))) })
                }
            }
        }
    }

    /// Matches a response's partitions to the batches sent.
    static func outcomes(of batches: [ProducerBatch], in response: ProduceResponse) -> [(ProducerBatch, RecordAccumulator.AttemptOutcome)] {
        var answers: [TopicPartition: ProduceResponse.PartitionProduceResponse] = [:]
        for topic in response.responses {
            for partition in topic.partitionResponses {
                answers[TopicPartition(topic: topic.name, partition: partition.index)] = partition
            }
        }
        return batches.map { batch in
            guard let answer = answers[batch.topicPartition] else {
                return (batch, .failure(.connection("the response has no entry for \(batch.topicPartition)")))
            }
            let code = KafkaErrorCode(answer.errorCode)
            guard code == .noError else {
                let message = answer.errorMessage ?? answer.recordErrors.first?.batchIndexErrorMessage
                return (batch, .failure(.broker(code, message: message)))
            }
            return (batch, .success(BatchAcknowledgement(baseOffset: answer.baseOffset, logAppendTime: answer.logAppendTimeMs)))
        }
    }

    private func finish(node: Int32, _ outcomes: [(ProducerBatch, RecordAccumulator.AttemptOutcome)]) {
        let effects = accumulator.complete(node: node, outcomes: outcomes)
        targets.fire(effects.completions)
        if effects.wantsMetadata {
            state.withLock { $0.metadataWanted = true }
        }
        wakeup.signal()
    }
}

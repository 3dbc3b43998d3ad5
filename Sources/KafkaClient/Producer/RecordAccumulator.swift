import KafkaProtocol
import NIOCore
import Synchronization

/// Collects records into per-partition batches and hands ready batches to the sender.
///
/// Everything lives behind one lock, taken once per record on the `send` path (no actor hop,
/// no task): partitioning, the buffer bound and the append into the batch's builder. The sender
/// takes the lock to drain ready batches and to apply the outcome of each request. Decisions
/// made under the lock that resume callers or run interceptors come back as `BatchCompletions`,
/// carried out after the lock is released.
///
/// The transaction manager hooks in at two points: `drain(...)` asks it, per partition, whether
/// the partition may be sent (it is in the transaction), must wait (AddPartitionsToTxn first),
/// or must have its batches failed (the transaction is aborting, or the producer was fenced);
/// and `installIdentity(_:)` is where a new producer id or epoch takes effect.
final class RecordAccumulator: Sendable {
    /// The producer settings the accumulator works with, in the units it needs.
    struct Settings: Sendable {
        var batchLimit: Int
        var compression: CompressionCodec
        var linger: TimeAmount
        var maxRequestSize: Int
        var maxInFlight: Int
        var deliveryTimeout: TimeAmount
        var retries: Int
        var retryBackoff: TimeAmount
        var retryBackoffMax: TimeAmount
        var idempotent: Bool
        var transactional: Bool
        var partitioner: Partitioner

        init(_ configuration: ProducerConfiguration) {
            // Room for the request and topic headers around the batches.
            batchLimit = max(1, min(configuration.batchSize, configuration.maxRequestSize - Self.requestOverhead))
            compression = configuration.compression
            linger = configuration.linger.timeAmount
            maxRequestSize = configuration.maxRequestSize
            maxInFlight = configuration.maxInFlightRequestsPerConnection
            deliveryTimeout = configuration.deliveryTimeout.timeAmount
            retries = configuration.retries
            retryBackoff = configuration.retryBackoff.timeAmount
            retryBackoffMax = max(configuration.retryBackoffMax, configuration.retryBackoff).timeAmount
            idempotent = configuration.enableIdempotence
            transactional = configuration.transactionalId != nil
            partitioner = configuration.partitioner
        }

        static let requestOverhead = 1024
    }

    /// The result of trying to add a record.
    enum AppendResult: Sendable {
        /// Added; `wakeSender` when a batch was started or filled.
        case appended(partition: Int32, wakeSender: Bool)
        /// The topic's metadata is not known yet.
        case needsMetadata
        /// The buffer is full: wait for `bytes` of room.
        case needsMemory(bytes: Int)
        case failed(KafkaProducerError)
    }

    /// Batches to send to one broker in one request.
    struct RequestPlan: Sendable {
        var node: Int32
        var batches: [ProducerBatch]
        var estimatedSize: Int
    }

    /// What the sender should do after a drain.
    struct DrainPlan: Sendable {
        var requests: [RequestPlan] = []
        var completions = BatchCompletions()
        /// Leaders with batches to send and no usable connection.
        var nodesToConnect: Set<Int32> = []
        /// Some partition has no leader, or a topic's metadata is missing.
        var wantsMetadata = false
        /// Idempotence needs a producer id before anything can be sent, or a new one after a reset.
        var wantsProducerId = false
        /// When the earliest lingering batch, backoff or delivery timeout falls due.
        var nextWakeup: NIODeadline?
        /// Closed, and nothing left to send or wait for.
        var isFinished = false
    }

    /// What the transaction manager says about a partition with batches to send.
    enum PartitionVerdict: Sendable {
        case send
        /// Not yet: the partition is being added to the transaction.
        case wait
        /// Fail every queued batch of the partition with this error.
        case fail(KafkaProducerError)
    }

    /// The outcome of one attempt for one batch.
    typealias AttemptOutcome = Result<BatchAcknowledgement, ProduceFailure>

    private struct FlushWaiter {
        var id: UInt64
        var upTo: UInt64
        var remaining: Int
        var continuation: UnsafeContinuation<Void, Never>
    }

    private struct State {
        var topics: [String: ProducerTopic] = [:]
        /// Every partition queue, in a stable order, for draining.
        var queues: [PartitionQueue] = []
        var memory: BufferMemory
        var nextSerial: UInt64 = 0
        var flushWaiters: [FlushWaiter] = []
        var nextFlushId: UInt64 = 0
        /// Serials of batches whose outcome is decided but not yet delivered (`fired`): a flush
        /// waits for these too, so that when it returns every report it covers has been yielded,
        /// even when another thread is still delivering an earlier batch's outcome.
        var unfired: [UInt64] = []
        /// Produce requests sent to each node and not yet answered.
        var inFlightRequests: [Int32: Int] = [:]
        var identity: ProducerIdentity?
        /// A partition needs a new producer id; new batches wait until it is installed.
        var resetPending = false
        /// `close()` began: no new records, every batch is ready.
        var closed = false
        /// Rotates the first partition drained, so no partition is always last in a full request.
        var drainCursor = 0
    }

    let settings: Settings
    private let state: Mutex<State>

    init(settings: Settings, bufferMemory: Int) {
        self.settings = settings
        self.state = Mutex(State(memory: BufferMemory(limit: bufferMemory)))
    }

    // MARK: Appending

    /// Adds a record to its partition's open batch, starting a new batch when there is none or
    /// it is full.
    /// - Parameters:
    ///   - continuation: the caller of `send` to resume with the outcome; kept only when the
    ///     result is `.appended`. Nil for `sendAndForget`.
    ///   - reserved: `size` bytes were already granted to this caller by `requestMemory`.
    func append(_ record: ProducerRecord, timestamp: Int64, size: Int, continuation: UnsafeContinuation<SendOutcome, Never>?, reserved: Bool) -> AppendResult {
        state.withLock { state -> AppendResult in
            guard !state.closed else {
                if reserved { state.memory.release(size) }
                return .failed(.closed)
            }
            guard let topic = state.topics[record.topic], topic.partitionCount > 0 else {
                if reserved { state.memory.release(size) }
                return .needsMetadata
            }
            let partition = record.partition ?? Self.choosePartition(
                by: settings.partitioner, in: topic, keyHash: { record.key.map(Murmur2.hash) }, key: { record.key })
            guard partition >= 0, partition < topic.partitionCount else {
                if reserved { state.memory.release(size) }
                return .failed(.unknownPartition(topic: record.topic, partition: partition, partitionCount: topic.partitionCount))
            }
            if !reserved {
                guard state.memory.tryReserve(size) else { return .needsMemory(bytes: size) }
            }
            let (batch, started) = batchTaking(size, in: topic.queues[Int(partition)], of: topic, state: &state)
            do {
                try batch.builder.append(timestamp: timestamp, key: record.key, value: record.value, headers: record.headers)
            } catch {
                state.memory.release(size)
                return .failed(.recordTooLarge(size: size, limit: Int(Int32.max)))
            }
            batch.reservedBytes += size
            if let continuation {
                batch.pending.append(PendingRecord(offsetDelta: batch.recordCount - 1, timestamp: timestamp, continuation: continuation))
            }
            let wake = closeIfFull(batch, topic: topic) || started
            return .appended(partition: partition, wakeSender: wake)
        }
    }

    /// Closes a batch to further records and lets a sticky partitioner move on.
    private func close(_ batch: ProducerBatch, topic: ProducerTopic?) {
        guard !batch.isClosed else { return }
        batch.isClosed = true
        if settings.partitioner.builtin != nil {
            topic?.batchClosed(partition: batch.topicPartition.partition)
        } else {
            settings.partitioner.batchSent?(batch.topicPartition.topic, batch.topicPartition.partition)
        }
    }

    /// The open batch of `queue` if `size` more bytes fit, else a new one (closing the full one);
    /// `started` when a new batch was begun (the sender is woken to linger it).
    private func batchTaking(_ size: Int, in queue: PartitionQueue, of topic: ProducerTopic, state: inout State) -> (batch: ProducerBatch, started: Bool) {
        if let open = queue.openBatch, open.builder.isEmpty || open.estimatedSize + size <= settings.batchLimit {
            return (open, false)
        }
        if let full = queue.openBatch { close(full, topic: topic) }
        state.nextSerial += 1
        let batch = ProducerBatch(
            topicPartition: queue.topicPartition, serial: state.nextSerial, createdAt: .now(),
            compression: settings.compression, capacity: max(settings.batchLimit, size + RecordSize.batchOverhead))
        queue.appendNewBatch(batch)
        return (batch, true)
    }

    /// Closes `batch` once it reached the batch size; returns whether it did (the sender is woken).
    private func closeIfFull(_ batch: ProducerBatch, topic: ProducerTopic) -> Bool {
        guard batch.estimatedSize >= settings.batchLimit else { return false }
        close(batch, topic: topic)
        return true
    }

    /// How far appending a run of records got: `next` is the first record not appended, held
    /// up by `blocker` (nil when the run's slice was done).
    struct RunProgress {
        var next: Int
        var blocker: AppendResult?
        var wakeSender: Bool
    }

    /// The partition of a record sent without one: the configured partitioner's choice. The
    /// built-in ones are applied here, the key hashed only when murmur2 needs it (`keyHash`);
    /// a custom partitioner gets the key as a buffer (`key`).
    @inline(__always)
    private static func choosePartition(
        by partitioner: Partitioner, in topic: ProducerTopic, keyHash: () -> UInt32?, key: () -> ByteBuffer?
    ) -> Int32 {
        switch partitioner.builtin {
        case .murmur2?:
            guard let hash = keyHash() else { return topic.stickyChoice() }
            return Int32(hash & 0x7fff_ffff) % topic.partitionCount
        case .sticky?:
            return topic.stickyChoice()
        case nil:
            return partitioner.partition(Partitioner.Input(
                topic: topic.name, key: key(), partitionCount: topic.partitionCount, availablePartitions: topic.availablePartitions))
        }
    }

    /// Appends `records[start...]` in order, at most `limit` of them, as `append` would one by
    /// one, under one lock: the topic is looked up once per run of records to it, and keys are
    /// hashed and copied straight from the records' shared buffer. Stops at the first record that
    /// cannot be appended yet (or at all), returned as `blocker`.
    /// - Parameter reservedFirst: the first record's bytes were already granted by `requestMemory`.
    func append(_ records: SerializedRecords, from start: Int, limit: Int, reservedFirst: Bool, maxRecordSize: Int) -> RunProgress {
        let recordBytes = records.bytes
        return recordBytes.withUnsafeReadableBytes { bytes in
            state.withLock { state -> RunProgress in
                var progress = RunProgress(next: start, blocker: nil, wakeSender: false)
                let end = min(records.entries.count, start &+ limit)
                var reserved = reservedFirst
                var topicIndex: Int32 = -1
                var topic: ProducerTopic?
                while progress.next < end {
                    let entry = records.entries[progress.next]
                    let size = RecordSize.encoded(keyLength: entry.keyLength, valueLength: entry.valueLength, headers: records.headers(of: entry))
                    func block(_ blocker: AppendResult) -> RunProgress {
                        if reserved { state.memory.release(size) }
                        progress.blocker = blocker
                        return progress
                    }
                    if size + RecordSize.batchOverhead > maxRecordSize {
                        return block(.failed(.recordTooLarge(size: size + RecordSize.batchOverhead, limit: maxRecordSize)))
                    }
                    if size > state.memory.limit {
                        return block(.failed(.recordTooLarge(size: size, limit: state.memory.limit)))
                    }
                    guard !state.closed else { return block(.failed(.closed)) }
                    if entry.topic != topicIndex {
                        topicIndex = entry.topic
                        topic = state.topics[records.topics[Int(topicIndex)]]
                    }
                    guard let topic, topic.partitionCount > 0 else {
                        topicIndex = -1
                        return block(.needsMetadata)
                    }
                    let key = entry.keyLength < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[entry.start..<(entry.start + entry.keyLength)])
                    let keyStart = entry.start, keyLength = entry.keyLength
                    // The key's bytes are hashed here, not in a closure: they belong to this call,
                    // and a closure holding them next to `topic` would tie them to the locked state.
                    let keyHash = entry.partition == nil && settings.partitioner.builtin == .murmur2 ? key.map(Murmur2.hash) : nil
                    let partition = entry.partition ?? Self.choosePartition(
                        by: settings.partitioner, in: topic, keyHash: { keyHash },
                        key: { keyLength < 0 ? nil : recordBytes.getSlice(at: keyStart, length: keyLength) })
                    guard partition >= 0, partition < topic.partitionCount else {
                        return block(.failed(.unknownPartition(topic: topic.name, partition: partition, partitionCount: topic.partitionCount)))
                    }
                    if !reserved {
                        guard state.memory.tryReserve(size) else { return block(.needsMemory(bytes: size)) }
                    }
                    let (batch, started) = batchTaking(size, in: topic.queues[Int(partition)], of: topic, state: &state)
                    let value = entry.valueLength < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[entry.valueStart..<(entry.valueStart + entry.valueLength)])
                    do {
                        try batch.builder.append(timestamp: entry.timestamp, keyBytes: key, valueBytes: value, headers: records.headers(of: entry))
                    } catch {
                        state.memory.release(size)
                        progress.blocker = .failed(.recordTooLarge(size: size, limit: Int(Int32.max)))
                        return progress
                    }
                    batch.reservedBytes += size
                    if closeIfFull(batch, topic: topic) || started { progress.wakeSender = true }
                    reserved = false
                    progress.next &+= 1
                }
                return progress
            }
        }
    }

    /// The outcome of asking for buffer room.
    enum MemoryRequest {
        case granted
        case closed
        /// Queued under this id; the continuation is resumed when room is granted.
        case queued(UInt64)
    }

    /// Reserves `bytes`, or queues `continuation` until acknowledgements free enough room.
    func requestMemory(_ bytes: Int, continuation: UnsafeContinuation<BufferMemory.Grant, Never>) -> MemoryRequest {
        state.withLock { state in
            if state.closed { return .closed }
            if state.memory.tryReserve(bytes) { return .granted }
            return .queued(state.memory.enqueue(bytes: bytes, continuation: continuation))
        }
    }

    /// Takes a waiter out of line (timed out or cancelled) and resumes it with `outcome`,
    /// unless room was granted first.
    func abandonMemoryRequest(id: UInt64, outcome: BufferMemory.Grant) {
        let waiter = state.withLock { $0.memory.removeWaiter(id: id) }
        waiter?.resume(returning: outcome)
    }

    /// Gives back room granted to a caller that did not use it.
    func releaseMemory(_ bytes: Int) -> BatchCompletions {
        state.withLock { state in
            state.memory.release(bytes)
            var completions = BatchCompletions()
            completions.memoryGrants = state.memory.grantWaiters()
            return completions
        }
    }

    // MARK: Metadata

    /// Whether the topic's partitions are known.
    func knowsTopic(_ name: String) -> Bool {
        state.withLock { ($0.topics[name]?.partitionCount ?? 0) > 0 }
    }

    /// Topics with records in this producer, for metadata refreshes.
    var topicNames: [String] {
        state.withLock { Array($0.topics.keys) }
    }

    /// Applies metadata: leaders of known topics, and `adding` topics seen for the first time.
    func updateMetadata(_ metadata: ClusterMetadata, adding newTopics: [String] = []) {
        state.withLock { state in
            for name in newTopics where state.topics[name] == nil {
                state.topics[name] = ProducerTopic(name: name)
            }
            var changed = false
            for (name, topic) in state.topics {
                let before = topic.partitionCount
                topic.update(metadata.topics[name])
                changed = changed || topic.partitionCount != before
            }
            if changed {
                state.queues = state.topics.keys.sorted().flatMap { state.topics[$0]!.queues }
            }
        }
    }

    /// Records a failure to reach a node for the partitions it leads, reported if their batches time out.
    func nodeFailed(_ node: Int32, reason: String) {
        state.withLock { state in
            for queue in state.queues where queue.leader == node {
                queue.lastFailure = .connection(reason)
            }
        }
    }

    /// Records a failure that blocks every partition (no metadata, no producer id).
    func everyPartitionFailed(_ failure: ProduceFailure) {
        state.withLock { state in
            for queue in state.queues where !queue.isIdle { queue.lastFailure = failure }
        }
    }

    // MARK: Producer identity

    /// The identity batches are stamped with.
    var identity: ProducerIdentity? {
        state.withLock { $0.identity }
    }

    /// A new producer id (or epoch) takes effect: every partition's sequences start from zero.
    /// Called only when nothing is in flight and no sequenced batch is left to resolve.
    func installIdentity(_ identity: ProducerIdentity) {
        state.withLock { state in
            state.identity = identity
            state.resetPending = false
            for queue in state.queues { queue.resetSequences() }
        }
    }

    // MARK: Draining

    /// Takes the batches that are ready and sendable, grouped by leader, at most one request per
    /// leader and one batch per partition, within the in-flight limits; and expires batches past
    /// the delivery timeout.
    ///
    /// - Parameters:
    ///   - readyNodes: leaders with an open connection.
    ///   - verdict: whether a partition may be sent now (the transaction manager's hook; all by default).
    func drain(now: NIODeadline, readyNodes: Set<Int32>, verdict: (TopicPartition) -> PartitionVerdict = { _ in .send }) -> DrainPlan {
        state.withLock { state in
            var plan = DrainPlan()
            let flushUpTo = state.flushWaiters.map(\.upTo).max() ?? 0
            let urgent = state.closed || state.memory.hasWaiters
            var requestIndex: [Int32: Int] = [:]
            var anyQueued = false

            func wake(at deadline: NIODeadline) {
                plan.nextWakeup = min(plan.nextWakeup ?? deadline, deadline)
            }

            let count = state.queues.count
            for step in 0..<count {
                let queue = state.queues[(state.drainCursor + step) % count]
                expire(queue, now: now, state: &state, completions: &plan.completions)
                queue.settleIfIdle()
                guard let front = queue.queued.first else { continue }
                anyQueued = true
                wake(at: front.createdAt + settings.deliveryTimeout)
                guard !queue.hasBarrier else { continue }
                if settings.transactional {
                    switch verdict(queue.topicPartition) {
                    case .send:
                        break
                    case .wait:
                        continue
                    case .fail(let error):
                        while !queue.queued.isEmpty {
                            let dropped = queue.dropFront()
                            dropped.isClosed = true
                            giveUp(dropped, in: queue, error: error, state: &state, completions: &plan.completions)
                        }
                        continue
                    }
                }
                guard now >= queue.backoffUntil else {
                    wake(at: queue.backoffUntil)
                    continue
                }
                guard queue.leader >= 0 else {
                    plan.wantsMetadata = true
                    continue
                }
                let node = queue.leader
                guard readyNodes.contains(node) else {
                    plan.nodesToConnect.insert(node)
                    continue
                }

                // Which batch: the front, except in a partition waiting for a reset, where only
                // batches that may have been written are sent, to learn whether they were.
                let index: Int
                if settings.idempotent && queue.needsReset {
                    guard let probe = queue.queued.firstIndex(where: { $0.sequence != nil && $0.lastAttemptAmbiguous }) else { continue }
                    index = probe
                } else {
                    index = 0
                }
                let batch = queue.queued[index]
                let lingerDeadline = batch.createdAt + settings.linger
                let ready = batch.isClosed || batch.attempts > 0 || now >= lingerDeadline || batch.serial <= flushUpTo || urgent
                guard ready else {
                    wake(at: lingerDeadline)
                    continue
                }
                guard queue.inFlight.count < settings.maxInFlight else { continue }
                if requestIndex[node] == nil, state.inFlightRequests[node, default: 0] >= settings.maxInFlight { continue }
                if let existing = requestIndex[node], plan.requests[existing].estimatedSize + batch.estimatedSize > settings.maxRequestSize {
                    continue
                }
                if settings.idempotent && batch.sequence == nil {
                    guard let identity = state.identity else {
                        plan.wantsProducerId = true
                        continue
                    }
                    guard !state.resetPending, !queue.needsReset, queue.pendingRewind == nil else { continue }
                    batch.sequence = queue.nextSequence
                    queue.nextSequence += Int64(batch.recordCount)
                    batch.builder.producerId = identity.producerId
                    batch.builder.producerEpoch = identity.epoch
                    batch.builder.baseSequence = ProducerBatch.wireSequence(batch.sequence!)
                    batch.builder.isTransactional = settings.transactional
                }

                _ = queue.take(at: index)
                close(batch, topic: state.topics[batch.topicPartition.topic])
                batch.attempts += 1
                if let existing = requestIndex[node] {
                    plan.requests[existing].batches.append(batch)
                    plan.requests[existing].estimatedSize += batch.estimatedSize
                } else {
                    requestIndex[node] = plan.requests.count
                    plan.requests.append(RequestPlan(node: node, batches: [batch], estimatedSize: batch.estimatedSize))
                }
            }
            if count > 0 { state.drainCursor = (state.drainCursor + 1) % count }
            for request in plan.requests {
                state.inFlightRequests[request.node, default: 0] += 1
            }

            if settings.idempotent {
                if state.identity == nil && anyQueued {
                    plan.wantsProducerId = true
                } else if state.resetPending && !state.queues.contains(where: \.blocksReset) {
                    plan.wantsProducerId = true
                }
            }
            if plan.wantsMetadata {
                wake(at: now + settings.retryBackoff)
            }
            plan.isFinished = state.closed && state.queues.allSatisfy(\.isIdle)
            return plan
        }
    }

    /// Fails batches at the front of `queue` whose delivery timeout has passed. In-flight
    /// batches are left to their response (bounded by the request timeout).
    private func expire(_ queue: PartitionQueue, now: NIODeadline, state: inout State, completions: inout BatchCompletions) {
        while let front = queue.queued.first, now >= front.createdAt + settings.deliveryTimeout {
            _ = queue.dropFront()
            front.isClosed = true
            let failure = front.lastFailure ?? queue.lastFailure
            let error = failure?.timeoutError(for: front.topicPartition)
                ?? .deliveryTimedOut(topic: front.topicPartition.topic, partition: front.topicPartition.partition, lastError: nil)
            giveUp(front, in: queue, error: error, state: &state, completions: &completions)
        }
    }

    /// Fails a batch for good. With idempotence the partition's sequences must then account
    /// for the gap: a batch the broker refused leaves sequences to be handed out again from it;
    /// one that may have been written cannot be accounted for without a new producer id.
    private func giveUp(_ batch: ProducerBatch, in queue: PartitionQueue, error: KafkaProducerError, state: inout State, completions: inout BatchCompletions) {
        if settings.idempotent, let sequence = batch.sequence {
            if batch.lastAttemptAmbiguous {
                queue.needsReset = true
                state.resetPending = true
            } else {
                queue.rewind(to: sequence)
            }
        }
        finish(batch, .failure(error), state: &state, completions: &completions)
    }

    /// Delivers a batch's outcome (once), frees its memory, and counts it off pending flushes.
    private func finish(_ batch: ProducerBatch, _ result: Result<BatchAcknowledgement, KafkaProducerError>, state: inout State, completions: inout BatchCompletions) {
        guard !batch.isDone else { return }
        batch.isDone = true
        state.memory.release(batch.reservedBytes)
        completions.batches.append((batch, result))
        completions.memoryGrants += state.memory.grantWaiters()
        state.unfired.append(batch.serial)
    }

    /// Counts delivered outcomes off pending flushes; returns the flushes that are now complete.
    /// Called by `CompletionTargets.fire` after the batches' callers, interceptors and reports ran.
    func fired(_ serials: [UInt64]) -> [UnsafeContinuation<Void, Never>] {
        guard !serials.isEmpty else { return [] }
        return state.withLock { state in
            var done: [UnsafeContinuation<Void, Never>] = []
            for serial in serials {
                if let position = state.unfired.firstIndex(of: serial) { state.unfired.remove(at: position) }
                var index = 0
                while index < state.flushWaiters.count {
                    if state.flushWaiters[index].upTo >= serial {
                        state.flushWaiters[index].remaining -= 1
                        if state.flushWaiters[index].remaining == 0 {
                            done.append(state.flushWaiters.remove(at: index).continuation)
                            continue
                        }
                    }
                    index += 1
                }
            }
            return done
        }
    }

    /// Whether some decided outcome is still being delivered.
    var hasUnfiredOutcomes: Bool { state.withLock { !$0.unfired.isEmpty } }

    // MARK: Outcomes

    /// What the sender learns from applying a response.
    struct ResponseEffects: Sendable {
        var completions = BatchCompletions()
        /// A failure suggests the leader moved or the topic changed.
        var wantsMetadata = false
    }

    /// Applies the outcome of a request to `node`: acknowledges, re-queues or fails each batch.
    func complete(node: Int32, outcomes: [(ProducerBatch, AttemptOutcome)], now: NIODeadline = .now()) -> ResponseEffects {
        state.withLock { state in
            var effects = ResponseEffects()
            if let count = state.inFlightRequests[node] {
                state.inFlightRequests[node] = count > 1 ? count - 1 : nil
            }
            for (batch, outcome) in outcomes {
                guard let queue = state.topics[batch.topicPartition.topic]?.queues[Int(batch.topicPartition.partition)],
                      queue.land(batch) else { continue }
                switch outcome {
                case .success(let ack):
                    finish(batch, .success(ack), state: &state, completions: &effects.completions)
                case .failure(.broker(.duplicateSequenceNumber, _)):
                    // Older brokers answer a retry of a batch they have with this, without offsets.
                    finish(batch, .success(BatchAcknowledgement(baseOffset: -1, logAppendTime: -1)), state: &state, completions: &effects.completions)
                case .failure(let failure):
                    effects.wantsMetadata = effects.wantsMetadata || failure.invalidatesMetadata
                    failed(batch, in: queue, failure: failure, now: now, state: &state, completions: &effects.completions)
                }
                queue.settleIfIdle()
            }
            return effects
        }
    }

    private func failed(_ batch: ProducerBatch, in queue: PartitionQueue, failure: ProduceFailure, now: NIODeadline,
                        state: inout State, completions: inout BatchCompletions) {
        batch.lastFailure = failure
        queue.lastFailure = failure
        let expired = now >= batch.createdAt + settings.deliveryTimeout
        if settings.transactional, case .broker(let code, let message) = failure {
            switch code {
            case .producerFenced, .invalidProducerEpoch, .transactionalIdAuthorizationFailed:
                // Fenced: a newer producer owns the transactional id. Nothing more is sent.
                batch.lastAttemptAmbiguous = false
                giveUp(batch, in: queue, error: .transactionFatal(KafkaResponseError(code: code, message: message, context: "produce to \(batch.topicPartition)")),
                       state: &state, completions: &completions)
                return
            case .outOfOrderSequenceNumber, .unknownProducerId, .invalidTxnState:
                // Inside a transaction this cannot be repaired by resending: the transaction
                // aborts, and the abort bumps the epoch so that sequences restart.
                batch.lastAttemptAmbiguous = false
                giveUp(batch, in: queue, error: failure.producerError(for: batch.topicPartition), state: &state, completions: &completions)
                return
            default:
                break
            }
        }
        if settings.idempotent, let sequence = batch.sequence, case .broker(let code, _) = failure,
           code == .outOfOrderSequenceNumber || code == .unknownProducerId || code == .invalidProducerEpoch {
            // The broker checked the sequence and refused the batch: it is not in the log.
            batch.lastAttemptAmbiguous = false
            let explained = queue.hasUnacknowledgedPredecessor(of: sequence)
                || (queue.pendingRewind.map { $0 <= sequence } ?? false) || queue.needsReset
            if !explained {
                // Nothing of ours is missing before it: the broker lost this producer's state.
                queue.needsReset = true
                state.resetPending = true
            }
            if expired {
                giveUp(batch, in: queue, error: failure.timeoutError(for: batch.topicPartition), state: &state, completions: &completions)
            } else {
                queue.requeue(batch)
                queue.raiseBarrier()
            }
            return
        }
        // Once an attempt may have been written, the batch stays "maybe written" until the
        // broker says otherwise by checking its sequence.
        batch.lastAttemptAmbiguous = batch.lastAttemptAmbiguous || failure.isAmbiguous
        let exhausted = batch.attempts > settings.retries
        if failure.isRetriable && !expired && !exhausted {
            queue.requeue(batch)
            queue.raiseBarrier()
            queue.backoffUntil = now + backoff(afterAttempt: batch.attempts)
            return
        }
        let error = failure.isRetriable ? failure.timeoutError(for: batch.topicPartition) : failure.producerError(for: batch.topicPartition)
        giveUp(batch, in: queue, error: error, state: &state, completions: &completions)
    }

    /// `retryBackoff` doubled per attempt up to `retryBackoffMax`, with ±20% jitter so that
    /// producers failing together do not retry together.
    private func backoff(afterAttempt attempt: Int) -> TimeAmount {
        let base = settings.retryBackoff.nanoseconds
        let exponent = min(max(attempt - 1, 0), 20)
        let capped = min(base << Int64(exponent), settings.retryBackoffMax.nanoseconds)
        return .nanoseconds(Int64(Double(capped) * Double.random(in: 0.8...1.2)))
    }

    // MARK: Flush and close

    /// Registers a flush waiting for every batch created so far; false when there is none to wait for.
    func registerFlush(_ continuation: UnsafeContinuation<Void, Never>) -> Bool {
        registerFlushWaiter(continuation) != nil
    }

    /// Registers a flush like `registerFlush(_:)`; returns the waiter's id for
    /// `abandonFlush(id:)`, or nil when there is nothing to wait for.
    func registerFlushWaiter(_ continuation: UnsafeContinuation<Void, Never>) -> UInt64? {
        state.withLock { state in
            let upTo = state.nextSerial
            var remaining = 0
            for queue in state.queues {
                remaining += queue.inFlight.lazy.filter { $0.serial <= upTo && !$0.isDone }.count
                remaining += queue.queued.lazy.filter { $0.serial <= upTo && !$0.isDone }.count
            }
            remaining += state.unfired.lazy.filter { $0 <= upTo }.count
            guard remaining > 0 else { return nil }
            let id = state.nextFlushId
            state.nextFlushId += 1
            state.flushWaiters.append(FlushWaiter(id: id, upTo: upTo, remaining: remaining, continuation: continuation))
            return id
        }
    }

    /// Stops a flush from waiting any longer (its deadline passed); returns its continuation for
    /// the caller to resume, or nil when the flush already finished.
    func abandonFlush(id: UInt64) -> UnsafeContinuation<Void, Never>? {
        state.withLock { state in
            guard let index = state.flushWaiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.flushWaiters.remove(at: index).continuation
        }
    }

    /// Refuses new records from now on and makes every batch ready; returns the callers waiting
    /// for buffer room, refused.
    func close() -> BatchCompletions {
        state.withLock { state in
            state.closed = true
            var completions = BatchCompletions()
            completions.memoryRefusals = state.memory.removeAllWaiters().map { ($0, .closed) }
            return completions
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Fails every batch still queued or in flight with `error` (closing without waiting longer).
    func abortAll(_ error: KafkaProducerError) -> BatchCompletions {
        state.withLock { state in
            var completions = BatchCompletions()
            for queue in state.queues {
                for batch in queue.removeAll() {
                    finish(batch, .failure(error), state: &state, completions: &completions)
                }
            }
            completions.memoryRefusals += state.memory.removeAllWaiters().map { ($0, .closed) }
            let flushes = state.flushWaiters.map(\.continuation)
            state.flushWaiters.removeAll()
            completions.flushes += flushes
            state.inFlightRequests.removeAll()
            return completions
        }
    }

    /// Counts for tests and diagnostics.
    struct Snapshot: Sendable, Equatable {
        var queuedBatches: Int
        var inFlightBatches: Int
        var memoryUsed: Int
        var resetPending: Bool
    }

    var snapshot: Snapshot {
        state.withLock { state in
            Snapshot(queuedBatches: state.queues.reduce(0) { $0 + $1.queued.count },
                     inFlightBatches: state.queues.reduce(0) { $0 + $1.inFlight.count },
                     memoryUsed: state.memory.used, resetPending: state.resetPending)
        }
    }
}

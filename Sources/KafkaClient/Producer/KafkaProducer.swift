import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Sends records to Kafka: batched per partition, compressed, retried, and by default
/// idempotent, so that retries neither duplicate nor reorder records.
///
/// ```swift
/// let producer = try await KafkaProducer.make(configuration: try ProducerConfiguration(bootstrap: "localhost:9092"))
/// let metadata = try await producer.send(ProducerRecord(topic: "orders", key: "42", value: "shipped"))
/// print("written at \(metadata.offset)")
/// await producer.close()
/// ```
///
/// `send` waits for the acknowledgement, which takes at least `linger`: for throughput, send
/// from many tasks or use `sendAndForget` and read outcomes from `deliveryReports`. Both
/// suspend while the buffer (`bufferMemory`) is full, which is how a fast writer is slowed to
/// the pace of the brokers.
///
/// Records appended from one task to one partition are delivered in that order.
/// Every failure is a typed `KafkaProducerError`; without transactions none leaves the
/// producer unusable. Call `close()` when done: it delivers what is buffered (a transactional
/// producer first aborts a transaction left open) and stops the background sender.
///
/// With `transactionalId` the producer is transactional (`initTransactions()`,
/// `beginTransaction()`, `sendOffsetsToTransaction(_:groupMetadata:)`, `commitTransaction()`,
/// `abortTransaction()`; docs/exactly-once.md).
public final class KafkaProducer: Sendable {
    public let configuration: ProducerConfiguration
    /// The cluster connection, shared with consumers or admin when passed to `make`.
    public let cluster: KafkaCluster
    /// Outcomes of records sent with `sendAndForget`, as `configuration.deliveryReports` selects.
    /// The stream buffers without bound: consume it, or choose `.failuresOnly` or `.none`.
    public let deliveryReports: AsyncStream<DeliveryReport>

    private let reportsContinuation: AsyncStream<DeliveryReport>.Continuation
    private let ownsCluster: Bool
    let accumulator: RecordAccumulator
    let sender: Sender
    let targets: CompletionTargets
    /// The transaction state, with `transactionalId` only.
    let transactions: TransactionManager?
    let logger: Logger
    private let eventLoop: any EventLoop
    private let senderTask: Mutex<Task<Void, Never>?>
    private let closeStarted = Mutex(false)
    /// Checked per record: cheaper than touching the interceptors array.
    private let hasInterceptors: Bool
    private let metadataFetches = Mutex<[String: Task<Result<Void, KafkaProducerError>, Never>]>([:])

    private init(configuration: ProducerConfiguration, cluster: KafkaCluster, ownsCluster: Bool,
                 eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.cluster = cluster
        self.ownsCluster = ownsCluster
        self.logger = logger
        self.eventLoop = eventLoopGroup.next()
        self.hasInterceptors = !configuration.interceptors.isEmpty
        (deliveryReports, reportsContinuation) = AsyncStream.makeStream(of: DeliveryReport.self)
        accumulator = RecordAccumulator(settings: .init(configuration), bufferMemory: configuration.bufferMemory)
        transactions = configuration.transactionalId.map {
            TransactionManager(transactionalId: $0, transactionTimeout: configuration.transactionTimeout)
        }
        let wakeup = SenderWakeup(eventLoop: eventLoop)
        targets = CompletionTargets(
            accumulator: accumulator,
            interceptors: configuration.interceptors,
            reports: configuration.deliveryReports == .none ? nil : reportsContinuation,
            reportMode: configuration.deliveryReports,
            transactions: transactions,
            wakeup: wakeup,
            onBatchCompletion: configuration.onBatchCompletion)
        var idManager = ProducerIdManager()
        idManager.transactionalId = configuration.transactionalId
        sender = Sender(accumulator: accumulator, cluster: cluster, configuration: configuration, targets: targets,
                        wakeup: wakeup, idManager: idManager, transactions: transactions, logger: logger)
        senderTask = Mutex(nil)
    }

    /// Creates a producer and starts its background sender. Nothing is sent to the cluster
    /// until the first record: an unreachable cluster shows up as errors of `send`.
    ///
    /// - Parameters:
    ///   - cluster: a cluster connection to share; by default the producer opens its own from
    ///     `configuration.client` and closes it in `close()`.
    /// - Throws: `invalidConfiguration` when settings contradict each other.
    public static func make(
        configuration: ProducerConfiguration,
        cluster: KafkaCluster? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "rivulet.producer")
    ) async throws(KafkaProducerError) -> KafkaProducer {
        try configuration.validate()
        let producer = KafkaProducer(
            configuration: configuration,
            cluster: cluster ?? KafkaCluster(configuration: configuration.client, eventLoopGroup: eventLoopGroup, logger: logger),
            ownsCluster: cluster == nil, eventLoopGroup: eventLoopGroup, logger: logger)
        let sender = producer.sender
        producer.senderTask.withLock { $0 = Task { await sender.run() } }
        return producer
    }

    // MARK: Sending

    /// Sends a record and waits until it is acknowledged (per `acks`) or has definitely failed.
    ///
    /// A transactional producer sends only between `beginTransaction()` and the commit or
    /// abort; elsewhere it throws `invalidTransactionState` (or the fatal or abortable error
    /// the transaction is in).
    ///
    /// - Throws: `KafkaProducerError`: `unknownTopic`, `unknownPartition` or `recordTooLarge`
    ///   before anything is sent; `messageTooLarge`, `brokerUnreachable`, `deliveryTimedOut`
    ///   or `broker` when delivery fails; `timedOut` after waiting `maxBlock` for buffer room or
    ///   metadata; `closed`.
    public func send(_ record: ProducerRecord) async throws(KafkaProducerError) -> RecordMetadata {
        try transactions?.checkSend()
        let (prepared, timestamp, size) = try prepare(record)
        var reserved = false
        while true {
            let outcome = await withUnsafeContinuation { (continuation: UnsafeContinuation<SendOutcome, Never>) in
                let result = accumulator.append(prepared, timestamp: timestamp, size: size,
                                                continuation: continuation, reserved: reserved)
                if case .appended(_, let wake) = result {
                    if wake { sender.wake() }
                } else {
                    continuation.resume(returning: .blocked(result))
                }
            }
            switch outcome {
            case .delivered(let result):
                return try result.get()
            case .blocked(let blocker):
                reserved = try await resolve(blocker, for: prepared, size: size)
            }
        }
    }

    /// Adds a record to its batch and returns; the outcome goes to `deliveryReports`.
    ///
    /// Suspends only while waiting for buffer room or for the topic's metadata (the first
    /// record to a topic). Throws the errors `send` throws before anything is sent.
    public func sendAndForget(_ record: ProducerRecord) async throws(KafkaProducerError) {
        try transactions?.checkSend()
        let (prepared, timestamp, size) = try prepare(record)
        var reserved = false
        while true {
            let result = accumulator.append(prepared, timestamp: timestamp, size: size, continuation: nil, reserved: reserved)
            if case .appended(_, let wake) = result {
                if wake { sender.wake() }
                return
            }
            reserved = try await resolve(result, for: prepared, size: size)
        }
    }

    /// Why a record of ``sendAndForget(_:)-(SerializedRecords)`` was not sent: the records
    /// before `index` were added to their batches, none from it on.
    package struct RunFailure: Error {
        package let index: Int
        package let error: KafkaProducerError
    }

    /// `sendAndForget` for many records, in order: each is added to its batch as
    /// `sendAndForget(_:)` adds one, with the same waits and errors, taking the accumulator's
    /// lock once per slice of the run instead of once per record.
    package func sendAndForget(_ records: SerializedRecords) async throws(RunFailure) {
        if hasInterceptors {
            // Interceptors see, and may replace, every record as a `ProducerRecord`.
            for index in records.entries.indices {
                do throws(KafkaProducerError) {
                    try await sendAndForget(records.record(at: index))
                } catch {
                    throw RunFailure(index: index, error: error)
                }
            }
            return
        }
        var index = 0
        var reserved = false
        while index < records.count {
            do throws(KafkaProducerError) {
                try transactions?.checkSend()
                // Slices keep the sender from waiting long for the lock behind a large run.
                let progress = accumulator.append(records, from: index, limit: Self.runSlice, reservedFirst: reserved,
                                                  maxRecordSize: configuration.maxRequestSize)
                if progress.wakeSender { sender.wake() }
                index = progress.next
                reserved = false
                if let blocker = progress.blocker {
                    let record = records.record(at: index)
                    let size = RecordSize.encoded(key: record.key, value: record.value, headers: record.headers)
                    reserved = try await resolve(blocker, for: record, size: size)
                }
            } catch {
                throw RunFailure(index: index, error: error)
            }
        }
    }

    /// Records appended per lock taken by ``sendAndForget(_:)-(SerializedRecords)``.
    private static let runSlice = 256

    /// Waits until every record sent before the call is acknowledged or has failed; batches
    /// that are still lingering are sent at once.
    public func flush() async throws(KafkaProducerError) {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            if accumulator.registerFlush(continuation) {
                sender.wake()
            } else {
                continuation.resume()
            }
        }
    }

    /// `flush()` that gives up at `deadline`; returns whether every record sent before the call
    /// was acknowledged or failed by then.
    func flush(until deadline: ContinuousClock.Instant) async -> Bool {
        let accumulator = accumulator
        let sender = sender
        let eventLoop = eventLoop
        let waiter = Mutex<(timer: Scheduled<Void>?, gaveUp: Bool)>((nil, false))
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            guard let id = accumulator.registerFlushWaiter(continuation) else {
                continuation.resume()
                return
            }
            let timer = eventLoop.scheduleTask(in: (deadline - .now).timeAmount) {
                guard let abandoned = accumulator.abandonFlush(id: id) else { return }
                waiter.withLock { $0.gaveUp = true }
                abandoned.resume()
            }
            waiter.withLock { $0.timer = timer }
            sender.wake()
        }
        return waiter.withLock { waiter in
            waiter.timer?.cancel()
            return !waiter.gaveUp
        }
    }

    /// Delivers what is buffered (waiting at most `timeout`), fails whatever is left with
    /// `closed`, stops the sender, ends `deliveryReports`, and closes the cluster connection
    /// if the producer opened it. Later sends throw `closed`.
    ///
    /// A transactional producer with a transaction open (`inTransaction`, `abortableError`, or
    /// an abort that timed out) first aborts it, within the same `timeout`, as
    /// `abortTransaction()` does: records not yet sent fail with `transactionAborted`, those
    /// written are marked aborted, and read_committed consumers move past them at once instead
    /// of after `transactionTimeout`. When the coordinator cannot be reached in time, the
    /// failure is logged and the close goes on (the coordinator aborts the transaction after
    /// its timeout). A fenced producer (`fatalError`) just closes.
    public func close(timeout: Duration = .seconds(30)) async {
        let first = closeStarted.withLock { started -> Bool in
            defer { started = true }
            return !started
        }
        guard first else {
            await senderTask.withLock({ $0 })?.value
            return
        }
        let deadline = ContinuousClock.now + timeout
        await abortOpenTransaction(until: deadline)
        targets.fire(accumulator.close())
        sender.wake()
        if let task = senderTask.withLock({ $0 }) {
            let accumulator = accumulator
            let sender = sender
            let targets = targets
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await task.value }
                group.addTask {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    guard !Task.isCancelled else { return }
                    targets.fire(accumulator.abortAll(.closed))
                    sender.stop()
                }
                _ = await group.next()
                group.cancelAll()
            }
            await task.value
        }
        // Every outcome is decided by now; one may still be on its way into the report stream
        // from a response handler's thread, and must not be cut off by finishing the stream.
        while accumulator.hasUnfiredOutcomes {
            try? await Task.sleep(for: .milliseconds(1))
        }
        reportsContinuation.finish()
        if ownsCluster { await cluster.close() }
    }

    /// The producer id and epoch in use with idempotence, once the broker assigned them.
    public var producerIdentity: ProducerIdentity? { accumulator.identity }

    /// Bytes of records buffered and not yet completed (at most `bufferMemory`).
    public var bufferedBytes: Int { accumulator.snapshot.memoryUsed }

    // MARK: Preparing and waiting

    /// Runs interceptors, stamps the timestamp and checks the size.
    private func prepare(_ record: ProducerRecord) throws(KafkaProducerError) -> (ProducerRecord, Int64, Int) {
        var record = record
        if hasInterceptors {
            for interceptor in configuration.interceptors { record = interceptor.onSend(record) }
        }
        let timestamp = record.timestamp ?? WallClock.nowMilliseconds()
        let size = RecordSize.encoded(key: record.key, value: record.value, headers: record.headers)
        let error: KafkaProducerError
        if size + RecordSize.batchOverhead > configuration.maxRequestSize {
            error = .recordTooLarge(size: size + RecordSize.batchOverhead, limit: configuration.maxRequestSize)
        } else if size > configuration.bufferMemory {
            error = .recordTooLarge(size: size, limit: configuration.bufferMemory)
        } else {
            return (record, timestamp, size)
        }
        report(error, for: record)
        throw error
    }

    /// Waits out what kept a record from being appended; returns whether `size` bytes of buffer
    /// are now reserved for it.
    private func resolve(_ blocker: RecordAccumulator.AppendResult, for record: ProducerRecord, size: Int) async throws(KafkaProducerError) -> Bool {
        do throws(KafkaProducerError) {
            switch blocker {
            case .needsMetadata:
                try await awaitMetadata(for: record.topic)
                return false
            case .needsMemory:
                try await waitForMemory(size)
                return true
            case .failed(let error):
                throw error
            case .appended:
                return false
            }
        } catch {
            report(error, for: record)
            throw error
        }
    }

    private func report(_ error: KafkaProducerError, for record: ProducerRecord) {
        for interceptor in configuration.interceptors {
            interceptor.onError(error, topic: record.topic, partition: record.partition)
        }
    }

    /// Fetches a topic's metadata, shared by every caller waiting for the same topic.
    private func awaitMetadata(for topic: String) async throws(KafkaProducerError) {
        let task = metadataFetches.withLock { fetches -> Task<Result<Void, KafkaProducerError>, Never> in
            if let running = fetches[topic] { return running }
            let task = Task { [self] in await fetchMetadata(for: topic) }
            fetches[topic] = task
            return task
        }
        // Waiting callers do not cancel the shared fetch; a cancelled caller just stops waiting for it.
        let result = await task.value
        metadataFetches.withLock { fetches in
            if fetches[topic] == task { fetches[topic] = nil }
        }
        if Task.isCancelled { throw .cancelled }
        try result.get()
    }

    /// Asks for the topic's metadata until its partitions have leaders, the broker says the
    /// topic does not exist, or `maxBlock` (bounded by the delivery timeout) passes.
    private func fetchMetadata(for topic: String) async -> Result<Void, KafkaProducerError> {
        let deadline = ContinuousClock.now + min(configuration.maxBlock, configuration.deliveryTimeout)
        var lastProblem = "no answer"
        var unreachable = false
        while true {
            do {
                let metadata = try await cluster.refreshMetadata(topics: [topic], allowAutoTopicCreation: configuration.allowAutoTopicCreation)
                unreachable = false
                if let entry = metadata.topics[topic] {
                    switch entry.error {
                    case .noError where !entry.partitions.isEmpty:
                        accumulator.updateMetadata(metadata, adding: [topic])
                        return .success(())
                    case .unknownTopicOrPartition:
                        return .failure(.unknownTopic(topic))
                    case .invalidTopic, .topicAuthorizationFailed:
                        return .failure(.broker(KafkaResponseError(code: entry.error, context: "metadata for topic '\(topic)'")))
                    default:
                        // LEADER_NOT_AVAILABLE while an auto-created topic gets its partitions.
                        lastProblem = "\(entry.error)"
                    }
                } else {
                    lastProblem = "topic missing from the metadata response"
                }
            } catch {
                lastProblem = "\(error)"
                unreachable = (error as? KafkaClientError)?.isConnectionFailure ?? false
            }
            if ContinuousClock.now >= deadline {
                return .failure(unreachable ? .brokerUnreachable(reason: lastProblem) : .timedOut(waiting: "metadata of topic '\(topic)': \(lastProblem)"))
            }
            try? await Task.sleep(for: configuration.client.retryBackoff)
        }
    }

    /// Suspends until `bytes` of buffer are reserved for the caller, at most `maxBlock`.
    private func waitForMemory(_ bytes: Int) async throws(KafkaProducerError) {
        let accumulator = accumulator
        let waiter = Mutex<(id: UInt64?, timer: Scheduled<Void>?)>((nil, nil))
        let grant = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<BufferMemory.Grant, Never>) in
                switch accumulator.requestMemory(bytes, continuation: continuation) {
                case .granted:
                    continuation.resume(returning: .granted)
                case .closed:
                    continuation.resume(returning: .closed)
                case .queued(let id):
                    let timer = eventLoop.scheduleTask(in: configuration.maxBlock.timeAmount) {
                        accumulator.abandonMemoryRequest(id: id, outcome: .timedOut)
                    }
                    waiter.withLock { $0 = (id, timer) }
                    // Lingering batches are sent at once while anyone waits for room.
                    sender.wake()
                }
            }
        } onCancel: {
            if let id = waiter.withLock({ $0.id }) {
                accumulator.abandonMemoryRequest(id: id, outcome: .cancelled)
            }
        }
        waiter.withLock { $0.timer }?.cancel()
        switch grant {
        case .granted: return
        case .timedOut: throw .timedOut(waiting: "\(bytes) bytes of buffer memory (bufferMemory \(configuration.bufferMemory))")
        case .cancelled: throw .cancelled
        case .closed: throw .closed
        }
    }
}

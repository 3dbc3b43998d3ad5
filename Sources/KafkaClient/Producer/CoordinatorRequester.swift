import KafkaProtocol

/// Sends a transactional request to the coordinator of a transactional id or group, and keeps
/// trying while the answer says to try again: the coordinator moved (NOT_COORDINATOR,
/// COORDINATOR_NOT_AVAILABLE: look it up again), is loading (COORDINATOR_LOAD_IN_PROGRESS),
/// is still finishing the previous transaction (CONCURRENT_TRANSACTIONS), or the connection
/// failed. Any other error code is returned for the caller to classify.
struct CoordinatorRequester: Sendable {
    let cluster: KafkaCluster
    let retryBackoff: Duration
    /// When to stop retrying and throw `timedOut`.
    let deadline: ContinuousClock.Instant

    /// Codes after which the same request goes again, to the same coordinator.
    static let retriable: Set<KafkaErrorCode> = [
        .coordinatorLoadInProgress, .concurrentTransactions, .requestTimedOut, .networkException,
        .unknownTopicOrPartition, .notEnoughReplicas, .notEnoughReplicasAfterAppend, .kafkaStorageError,
    ]
    /// Codes after which the coordinator is looked up again.
    static let moved: Set<KafkaErrorCode> = [.notCoordinator, .coordinatorNotAvailable]

    /// What to do after a coordinator answered with `code`.
    enum Disposition: Equatable {
        /// The answer is final (success, or an error for the caller to classify).
        case done
        /// Send the same request again after `pause`.
        case retry(pause: Duration)
        /// The coordinator moved: look it up again, then retry after `pause`.
        case findCoordinatorAgain(pause: Duration)
    }

    static func disposition(of code: KafkaErrorCode, retryBackoff: Duration) -> Disposition {
        if moved.contains(code) { return .findCoordinatorAgain(pause: retryBackoff) }
        guard retriable.contains(code) else { return .done }
        // The coordinator is usually done with the previous transaction within milliseconds.
        return .retry(pause: code == .concurrentTransactions ? min(retryBackoff, .milliseconds(20)) : retryBackoff)
    }

    /// - Parameters:
    ///   - maxVersion: the highest version this client fills in correctly (later versions of
    ///     the transactional APIs belong to KIP-890's broker-side protocol).
    ///   - code: the error code of a response (for per-partition answers, the one that matters).
    func send<R: KafkaRequestMessage>(
        _ request: R, maxVersion: Int16, key: String, type: KafkaCluster.CoordinatorType, what: String,
        code: (R.Response) -> KafkaErrorCode
    ) async throws(KafkaProducerError) -> (R.Response, KafkaErrorCode) {
        var lastProblem = "no answer"
        while true {
            var pause = retryBackoff
            var connection: KafkaConnection?
            do {
                let node = try await cluster.coordinator(for: key, type: type)
                let open = try await cluster.connection(toNode: node)
                connection = open
                guard let negotiated = open.negotiatedVersion(for: R.self) else {
                    throw KafkaProducerError.broker(KafkaResponseError(code: .unsupportedVersion, context: "\(what): \(open.broker) does not offer it"))
                }
                let response = try await open.send(request, version: min(negotiated, maxVersion))
                let answer = code(response)
                switch Self.disposition(of: answer, retryBackoff: retryBackoff) {
                case .done:
                    return (response, answer)
                case .retry(let wait):
                    pause = wait
                case .findCoordinatorAgain(let wait):
                    pause = wait
                    await cluster.invalidateCoordinator(for: key, type: type)
                }
                lastProblem = "\(answer)"
            } catch let error as KafkaProducerError {
                throw error
            } catch let error as KafkaClientError {
                lastProblem = "\(error)"
                switch error {
                case .broker(let response) where !response.code.isRetriable:
                    // FindCoordinator refused the key for good (authorization, invalid id).
                    if response.code == .transactionalIdAuthorizationFailed { throw .transactionFatal(response) }
                    throw .broker(response)
                case _ where error.isConnectionFailure:
                    if let connection { await cluster.connectionFailed(connection) }
                    await cluster.invalidateCoordinator(for: key, type: type)
                case .closed:
                    throw .closed
                default:
                    await cluster.invalidateCoordinator(for: key, type: type)
                }
            } catch {
                lastProblem = "\(error)"
            }
            if ContinuousClock.now + pause >= deadline {
                throw .timedOut(waiting: "\(what) (last problem: \(lastProblem))")
            }
            do {
                try await Task.sleep(for: pause)
            } catch {
                throw .cancelled
            }
        }
    }
}

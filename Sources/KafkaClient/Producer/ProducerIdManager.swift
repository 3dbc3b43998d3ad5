import KafkaProtocol

/// Obtains the producer id and epoch with InitProducerId.
///
/// Today it serves idempotence, for which any broker hands out a fresh producer id; a new one
/// is also how sequence numbers restart after a partition lost track of them. The transactional
/// layer extends this: with a `transactionalId` the request goes to the transaction coordinator
/// (`KafkaCluster.coordinator(for:type: .transaction)`), names the current identity so that the
/// coordinator bumps its epoch (KIP-360) instead of fencing it, and the new identity reaches the
/// accumulator through the same `RecordAccumulator.installIdentity(_:)`.
struct ProducerIdManager: Sendable {
    /// Always nil until transactions land.
    var transactionalId: String?
    var transactionTimeout: Duration = .seconds(60)

    /// Asks for a new identity; throws on connection failures and on any error code (retriable
    /// ones such as COORDINATOR_LOAD_IN_PROGRESS are for the caller to retry after a backoff).
    func initProducerId(cluster: KafkaCluster) async throws -> ProducerIdentity {
        let request = InitProducerIdRequest(
            transactionalId: transactionalId, transactionTimeoutMs: Int32(clamping: transactionTimeout.milliseconds),
            producerId: -1, producerEpoch: -1)
        let response = try await cluster.sendToAny(request)
        let code = KafkaErrorCode(response.errorCode)
        guard code == .noError else {
            throw KafkaClientError.broker(KafkaResponseError(code: code, context: "InitProducerId"))
        }
        return ProducerIdentity(producerId: response.producerId, epoch: response.producerEpoch)
    }
}

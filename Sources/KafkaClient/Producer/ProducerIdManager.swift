import KafkaProtocol

/// Obtains the producer id and epoch of an idempotent producer with InitProducerId, from any
/// broker; a new one is also how sequence numbers restart after a partition lost track of them.
///
/// A transactional producer gets its identity from its transaction coordinator instead
/// (`KafkaProducer.initTransactions()`, and an epoch bump after an abort that left a gap in
/// the sequences); here it only supplies the `transactionalId` that produce requests carry.
struct ProducerIdManager: Sendable {
    /// Sent with every produce request of a transactional producer.
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

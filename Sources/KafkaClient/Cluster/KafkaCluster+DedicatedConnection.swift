import KafkaProtocol

extension KafkaCluster {
    /// A new connection to a broker, not shared and not cached: the caller owns and closes it.
    ///
    /// Brokers answer one request per connection at a time, in order. A request that may wait
    /// long on the broker (JoinGroup waits for the whole rebalance) would hold up everything
    /// behind it on a shared connection, so group membership talks to its coordinator over a
    /// connection of its own, as the Java client and librdkafka do.
    public func dedicatedConnection(toNode nodeId: Int32) async throws -> KafkaConnection {
        var broker = try await metadata().brokers[nodeId]
        if broker == nil { broker = try await refreshMetadata().brokers[nodeId] }
        guard let broker else {
            throw KafkaClientError.broker(KafkaResponseError(code: .brokerNotAvailable, context: "no broker with node id \(nodeId)"))
        }
        return try await KafkaConnection.connect(to: broker.address, configuration: configuration.connectionConfiguration, eventLoopGroup: eventLoopGroup)
    }
}

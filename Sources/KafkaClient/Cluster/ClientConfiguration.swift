/// Settings shared by everything built on a `KafkaCluster`: producers, consumers and admin.
/// Names follow librdkafka's and the Java client's where they exist.
public struct ClientConfiguration: Sendable {
    /// `bootstrap.servers`: where to find the cluster; any one reachable broker is enough.
    public var bootstrapServers: [BrokerAddress]
    /// `client.id`: sent with every request; brokers log it and use it for quotas.
    public var clientId = "rivulet"
    /// `request.timeout.ms`: how long a request waits for its response.
    public var requestTimeout: Duration = .seconds(30)
    /// `socket.connection.setup.timeout.ms`.
    public var connectTimeout: Duration = .seconds(10)
    /// `metadata.max.age.ms`: metadata is refreshed at least this often.
    public var metadataMaxAge: Duration = .seconds(300)
    /// `reconnect.backoff.ms` and `reconnect.backoff.max.ms`: exponential backoff, with ±20% jitter,
    /// between attempts to reach a broker that failed.
    public var reconnectBackoff: Duration = .milliseconds(50)
    public var reconnectBackoffMax: Duration = .seconds(1)
    /// `retry.backoff.ms`: pause before retrying a request that failed with a retriable error.
    public var retryBackoff: Duration = .milliseconds(100)
    /// Largest response frame accepted.
    public var maxResponseSize = 256 * 1024 * 1024

    public init(bootstrapServers: [BrokerAddress]) {
        self.bootstrapServers = bootstrapServers
    }

    /// Parses `host:port[,host:port...]`.
    public init(bootstrap: String) throws {
        self.init(bootstrapServers: try BrokerAddress.parseList(bootstrap))
    }

    var connectionConfiguration: KafkaConnection.Configuration {
        var configuration = KafkaConnection.Configuration()
        configuration.clientId = clientId
        configuration.requestTimeout = requestTimeout
        configuration.connectTimeout = connectTimeout
        configuration.maxResponseSize = maxResponseSize
        return configuration
    }
}

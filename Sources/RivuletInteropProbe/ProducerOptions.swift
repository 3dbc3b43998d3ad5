import ArgumentParser
import KafkaClient
import KafkaProtocol

/// Producer settings shared by the probe's commands.
struct ProducerOptions: ParsableArguments {
    @Option(help: "Bootstrap brokers, host:port[,host:port...].") var bootstrap: String
    @Option(help: "none, gzip, snappy, lz4 or zstd.") var compression = "none"
    @Option(help: "0, 1 or all.") var acks = "all"
    @Flag(help: "Disable idempotence (required for acks 0 and 1).") var noIdempotence = false
    @Flag(help: "Do not ask the broker to create unknown topics.") var noAutoCreate = false
    @Option(help: "delivery.timeout.ms") var deliveryTimeoutMs: Int = 120_000
    @Option(help: "max.block.ms") var maxBlockMs: Int?
    @Option(help: "max.request.size") var maxRequestSize: Int?
    @Option(help: "linger.ms") var lingerMs: Int?
    @Option(help: "batch.size") var batchSize: Int?

    func configuration() throws -> ProducerConfiguration {
        var configuration = try ProducerConfiguration(bootstrap: bootstrap)
        guard let codec = CompressionCodec.allCases.first(where: { $0.description == compression }) else {
            throw ValidationError("unknown compression '\(compression)'")
        }
        guard let acks = Acks(parsing: acks) else { throw ValidationError("acks must be 0, 1 or all") }
        configuration.compression = codec
        configuration.acks = acks
        configuration.enableIdempotence = !noIdempotence
        configuration.allowAutoTopicCreation = !noAutoCreate
        configuration.deliveryTimeout = .milliseconds(deliveryTimeoutMs)
        configuration.maxBlock = .milliseconds(maxBlockMs ?? deliveryTimeoutMs)
        configuration.client.reconnectBackoffMax = .milliseconds(500)
        if let maxRequestSize { configuration.maxRequestSize = maxRequestSize }
        if let lingerMs { configuration.linger = .milliseconds(lingerMs) }
        if let batchSize { configuration.batchSize = batchSize }
        return configuration
    }
}

extension KafkaProducerError {
    /// The case name, which the Python tests compare.
    var kind: String {
        switch self {
        case .unknownTopic: return "unknownTopic"
        case .unknownPartition: return "unknownPartition"
        case .recordTooLarge: return "recordTooLarge"
        case .messageTooLarge: return "messageTooLarge"
        case .brokerUnreachable: return "brokerUnreachable"
        case .deliveryTimedOut: return "deliveryTimedOut"
        case .timedOut: return "timedOut"
        case .broker: return "broker"
        case .invalidConfiguration: return "invalidConfiguration"
        case .cancelled: return "cancelled"
        case .closed: return "closed"
        case .transactionFatal: return "transactionFatal"
        case .transactionAbortable: return "transactionAbortable"
        case .transactionAborted: return "transactionAborted"
        case .invalidTransactionState: return "invalidTransactionState"
        }
    }
}

import KafkaProtocol

/// Errors raised by the client at the call site. Each says what failed and where.
public enum KafkaClientError: Error, Sendable, Equatable {
    /// No TCP connection could be made to the broker.
    case connectionFailed(broker: BrokerAddress, reason: String)
    /// The connection closed while the request was outstanding.
    case connectionClosed(broker: BrokerAddress)
    /// No response arrived within the request timeout.
    case requestTimedOut(broker: BrokerAddress, api: String, timeoutMs: Int64)
    /// The broker supports no version of this API that Rivulet can speak.
    case unsupportedApi(broker: BrokerAddress, api: String, brokerVersions: ClosedRange<Int16>?)
    /// The broker answered with bytes that do not decode.
    case malformedResponse(broker: BrokerAddress, api: String, error: KafkaProtocolError)
    /// A response carried a correlation id that matches no outstanding request.
    case unexpectedCorrelationId(broker: BrokerAddress, received: Int32)
    /// The broker returned an error code for the request.
    case broker(KafkaResponseError)
    /// The bootstrap address is not `host:port`.
    case invalidAddress(String)
    /// The client or connection was closed by its owner.
    case closed
}

extension KafkaClientError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .connectionFailed(broker, reason): return "cannot connect to \(broker): \(reason)"
        case let .connectionClosed(broker): return "connection to \(broker) closed"
        case let .requestTimedOut(broker, api, timeoutMs): return "\(api) to \(broker) timed out after \(timeoutMs) ms"
        case let .unsupportedApi(broker, api, versions):
            return "\(broker) supports no usable version of \(api)" + (versions.map { " (broker: \($0.lowerBound)...\($0.upperBound))" } ?? " (not offered)")
        case let .malformedResponse(broker, api, error): return "malformed \(api) response from \(broker): \(error)"
        case let .unexpectedCorrelationId(broker, received): return "\(broker) answered unknown correlation id \(received)"
        case let .broker(error): return error.description
        case let .invalidAddress(address): return "invalid broker address '\(address)', expected host:port"
        case .closed: return "client closed"
        }
    }
}

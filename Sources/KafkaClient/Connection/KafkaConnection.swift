import KafkaProtocol
import NIOCore
import NIOPosix

/// One TCP connection to one broker, with requests pipelined and matched to responses.
///
/// On connect it asks the broker's API versions (ApiVersions) and from then on sends
/// each request at the highest version both sides support. Safe to share between tasks:
/// requests from many callers are interleaved on the one connection.
public final class KafkaConnection: Sendable {
    /// Connection settings.
    public struct Configuration: Sendable {
        /// Sent in every request header; brokers log it and use it for quotas.
        public var clientId: String? = "rivulet"
        /// How long a request may wait for its response.
        public var requestTimeout: Duration = .seconds(30)
        /// How long establishing the TCP connection may take.
        public var connectTimeout: Duration = .seconds(10)
        /// Frames larger than this from the broker close the connection.
        public var maxResponseSize: Int = 256 * 1024 * 1024

        public init() {}
    }

    public let broker: BrokerAddress
    public let configuration: Configuration
    /// The versions the broker offers.
    public let apiVersions: ApiVersionTable
    private let channel: Channel

    private init(broker: BrokerAddress, configuration: Configuration, channel: Channel, apiVersions: ApiVersionTable) {
        self.broker = broker
        self.configuration = configuration
        self.channel = channel
        self.apiVersions = apiVersions
    }

    /// Connects and negotiates API versions.
    public static func connect(
        to broker: BrokerAddress,
        configuration: Configuration = Configuration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> KafkaConnection {
        let maxResponseSize = configuration.maxResponseSize
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(configuration.connectTimeout.timeAmount)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: maxResponseSize)))
                        try channel.pipeline.syncOperations.addHandler(KafkaRequestHandler(broker: broker))
                    }
                }
                .connect(host: broker.host, port: broker.port)
                .get()
        } catch {
            throw KafkaClientError.connectionFailed(broker: broker, reason: "\(error)")
        }
        do {
            let versions = try await negotiateVersions(channel: channel, broker: broker, configuration: configuration)
            return KafkaConnection(broker: broker, configuration: configuration, channel: channel, apiVersions: versions)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Whether the connection is still open.
    public var isActive: Bool { channel.isActive }

    /// A future completed when the connection closes, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// The version `send` uses for this request type, or `nil` when the broker offers none we speak.
    public func negotiatedVersion<R: KafkaRequestMessage>(for request: R.Type) -> Int16? {
        apiVersions.highestCommonVersion(for: R.self)
    }

    /// Sends a request and waits for its response.
    /// - Parameter version: a specific version; by default the highest both sides support.
    public func send<R: KafkaRequestMessage>(_ request: R, version: Int16? = nil, timeout: Duration? = nil) async throws -> R.Response {
        let version = try version ?? requireVersion(R.self)
        var frame = try await roundTrip(request, version: version, expectsResponse: true, timeout: timeout)
        return try Self.decodeResponse(R.self, from: &frame, version: version, broker: broker)
    }

    /// Sends a request the broker will not answer (Produce with acks=0); returns once written.
    public func sendWithoutResponse<R: KafkaRequestMessage>(_ request: R, version: Int16? = nil) async throws {
        let version = try version ?? requireVersion(R.self)
        _ = try await roundTrip(request, version: version, expectsResponse: false, timeout: nil)
    }

    /// Sends a request whose body the caller writes straight into the frame, and returns the
    /// response frame (header included) as a future completed on the connection's event loop.
    ///
    /// The producer uses this to compress record batches directly into the request buffer and
    /// to handle responses on the event loop without a task per request; everything else uses
    /// `send(_:version:timeout:)`. With `expectsResponse: false` the future completes with an
    /// empty buffer once the frame is written.
    func sendFrame<R: KafkaRequestMessage>(
        _ type: R.Type, version: Int16, expectsResponse: Bool = true, timeout: Duration? = nil,
        capacity: Int = 256, writeBody: (inout ByteBuffer) throws -> Void
    ) throws -> EventLoopFuture<ByteBuffer> {
        var frame = channel.allocator.buffer(capacity: capacity)
        let sizeIndex = frame.startKafkaFrame()
        let header = RequestHeader(requestApiKey: R.apiKey.rawValue, requestApiVersion: version, correlationId: 0, clientId: configuration.clientId)
        try header.encode(into: &frame, version: R.requestHeaderVersion(for: version))
        try writeBody(&frame)
        frame.finishKafkaFrame(sizeAt: sizeIndex)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let outbound = OutboundKafkaRequest(
            frame: frame, apiName: R.messageName, expectsResponse: expectsResponse,
            timeout: (timeout ?? configuration.requestTimeout).timeAmount, promise: promise
        )
        // A write that never reaches the request handler (the channel already torn down) must
        // still fail the response, or its caller would wait forever; a second completion is ignored.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { [broker] error in
            promise.fail(error as? KafkaClientError ?? KafkaClientError.connectionClosed(broker: broker))
        }
        channel.writeAndFlush(outbound, promise: written)
        return promise.futureResult
    }

    /// Decodes a response frame returned by `sendFrame`.
    func decodeResponse<R: KafkaRequestMessage>(_ type: R.Type, from frame: inout ByteBuffer, version: Int16) throws -> R.Response {
        try Self.decodeResponse(R.self, from: &frame, version: version, broker: broker)
    }

    /// Closes the connection; outstanding requests fail with `connectionClosed`.
    public func close() async {
        try? await channel.close()
    }

    private func requireVersion<R: KafkaRequestMessage>(_ type: R.Type) throws -> Int16 {
        guard let version = apiVersions.highestCommonVersion(for: R.self) else {
            throw KafkaClientError.unsupportedApi(broker: broker, api: R.messageName, brokerVersions: apiVersions.range(for: R.apiKey))
        }
        return version
    }

    private func roundTrip<R: KafkaRequestMessage>(_ request: R, version: Int16, expectsResponse: Bool, timeout: Duration?) async throws -> ByteBuffer {
        try await Self.roundTrip(
            request, version: version, expectsResponse: expectsResponse,
            timeout: timeout ?? configuration.requestTimeout, clientId: configuration.clientId, channel: channel
        )
    }

    private static func roundTrip<R: KafkaRequestMessage>(
        _ request: R, version: Int16, expectsResponse: Bool, timeout: Duration, clientId: String?, channel: Channel
    ) async throws -> ByteBuffer {
        var frame = channel.allocator.buffer(capacity: 256)
        let sizeIndex = frame.startKafkaFrame()
        let header = RequestHeader(requestApiKey: R.apiKey.rawValue, requestApiVersion: version, correlationId: 0, clientId: clientId)
        try header.encode(into: &frame, version: R.requestHeaderVersion(for: version))
        try request.encode(into: &frame, version: version)
        frame.finishKafkaFrame(sizeAt: sizeIndex)

        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let outbound = OutboundKafkaRequest(
            frame: frame, apiName: R.messageName, expectsResponse: expectsResponse,
            timeout: timeout.timeAmount, promise: promise
        )
        channel.writeAndFlush(outbound, promise: nil)
        return try await promise.futureResult.get()
    }

    private static func decodeResponse<R: KafkaRequestMessage>(_ type: R.Type, from frame: inout ByteBuffer, version: Int16, broker: BrokerAddress) throws -> R.Response {
        do {
            _ = try ResponseHeader.decode(from: &frame, version: R.responseHeaderVersion(for: version))
            return try R.Response.decode(from: &frame, version: version)
        } catch let error as KafkaProtocolError {
            throw KafkaClientError.malformedResponse(broker: broker, api: R.Response.messageName, error: error)
        }
    }

    /// ApiVersions at our highest version; a broker that does not know that version answers
    /// UNSUPPORTED_VERSION in v0 form with its own range, and we retry within it.
    private static func negotiateVersions(channel: Channel, broker: BrokerAddress, configuration: Configuration) async throws -> ApiVersionTable {
        var version = ApiVersionsRequest.validVersions.upperBound
        for _ in 0..<2 {
            let request = ApiVersionsRequest(clientSoftwareName: "rivulet-swift", clientSoftwareVersion: RivuletVersion.string)
            let frame = try await roundTrip(
                request, version: version, expectsResponse: true,
                timeout: configuration.requestTimeout, clientId: configuration.clientId, channel: channel
            )
            var attempt = frame
            if let response = try? decodeResponse(ApiVersionsRequest.self, from: &attempt, version: version, broker: broker),
               response.errorCode == KafkaErrorCode.noError.rawValue {
                return ApiVersionTable(response)
            }
            var fallback = frame
            let v0 = try decodeResponse(ApiVersionsRequest.self, from: &fallback, version: 0, broker: broker)
            guard v0.errorCode == KafkaErrorCode.unsupportedVersion.rawValue,
                  let offered = ApiVersionTable(v0).range(for: .apiVersions),
                  let retry = Optional(min(offered.upperBound, ApiVersionsRequest.validVersions.upperBound)),
                  retry < version
            else {
                throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(v0.errorCode), context: "ApiVersions to \(broker)"))
            }
            version = retry
        }
        throw KafkaClientError.unsupportedApi(broker: broker, api: "ApiVersionsRequest", brokerVersions: nil)
    }
}

/// The library version reported to brokers in ApiVersions.
public enum RivuletVersion {
    public static let string = "0.1.0"
}

import KafkaProtocol
import NIOCore

/// What the router knows about the request being served.
struct RequestContext: Sendable {
    var header: RequestHeader
    var version: Int16
    var clientHost: String
}

/// A request the broker refuses by closing the connection, as Kafka does for requests it cannot parse.
enum RequestRouterError: Error, CustomStringConvertible {
    case malformed(api: String, error: KafkaProtocolError)
    case unknownApi(Int16)
    case unsupportedVersion(api: String, version: Int16)
    case truncatedHeader

    var description: String {
        switch self {
        case let .malformed(api, error): return "malformed \(api): \(error)"
        case let .unknownApi(key): return "unknown API key \(key)"
        case let .unsupportedVersion(api, version): return "\(api) v\(version) is not supported"
        case .truncatedHeader: return "request shorter than its header"
        }
    }
}

/// Decodes a request frame, hands it to its handler, and encodes the response frame.
struct RequestRouter: Sendable {
    let broker: BrokerCore

    /// Returns the response frame, or nil for a request that gets none (Produce with acks=0).
    func handle(frame: ByteBuffer, clientHost: String) async throws -> ByteBuffer? {
        guard let rawKey = frame.getInteger(at: frame.readerIndex, as: Int16.self),
              let version = frame.getInteger(at: frame.readerIndex + 2, as: Int16.self),
              let correlationId = frame.getInteger(at: frame.readerIndex + 4, as: Int32.self)
        else { throw RequestRouterError.truncatedHeader }
        let key = KafkaApiKey(rawValue: rawKey)
        var frame = frame
        switch key {
        case .apiVersions:
            guard SupportedApis.range(for: .apiVersions)!.contains(version) else {
                // A client newer than us: answer in v0 form with our range so it can retry (KIP-511).
                return apiVersionsFallback(correlationId: correlationId)
            }
            return try await serve(ApiVersionsRequest.self, &frame, version, clientHost) { _, _ in broker.apiVersions() }
        case .metadata: return try await serve(MetadataRequest.self, &frame, version, clientHost, broker.metadata)
        case .produce:
            return try await serve(ProduceRequest.self, &frame, version, clientHost, expectsResponse: { $0.acks != 0 }, broker.produce)
        case .fetch: return try await serve(FetchRequest.self, &frame, version, clientHost, broker.fetch)
        case .listOffsets: return try await serve(ListOffsetsRequest.self, &frame, version, clientHost, broker.listOffsets)
        case .createTopics: return try await serve(CreateTopicsRequest.self, &frame, version, clientHost, broker.createTopics)
        case .deleteTopics: return try await serve(DeleteTopicsRequest.self, &frame, version, clientHost, broker.deleteTopics)
        case .createPartitions: return try await serve(CreatePartitionsRequest.self, &frame, version, clientHost, broker.createPartitions)
        case .describeConfigs: return try await serve(DescribeConfigsRequest.self, &frame, version, clientHost, broker.describeConfigs)
        case .deleteRecords: return try await serve(DeleteRecordsRequest.self, &frame, version, clientHost, broker.deleteRecords)
        case .findCoordinator: return try await serve(FindCoordinatorRequest.self, &frame, version, clientHost, broker.findCoordinator)
        case .joinGroup: return try await serve(JoinGroupRequest.self, &frame, version, clientHost, broker.joinGroup)
        case .syncGroup: return try await serve(SyncGroupRequest.self, &frame, version, clientHost, broker.syncGroup)
        case .heartbeat: return try await serve(HeartbeatRequest.self, &frame, version, clientHost, broker.heartbeat)
        case .leaveGroup: return try await serve(LeaveGroupRequest.self, &frame, version, clientHost, broker.leaveGroup)
        case .offsetCommit: return try await serve(OffsetCommitRequest.self, &frame, version, clientHost, broker.offsetCommit)
        case .offsetFetch: return try await serve(OffsetFetchRequest.self, &frame, version, clientHost, broker.offsetFetch)
        case .describeGroups: return try await serve(DescribeGroupsRequest.self, &frame, version, clientHost, broker.describeGroups)
        case .listGroups: return try await serve(ListGroupsRequest.self, &frame, version, clientHost, broker.listGroups)
        case .initProducerId: return try await serve(InitProducerIdRequest.self, &frame, version, clientHost, broker.initProducerId)
        case .addPartitionsToTxn: return try await serve(AddPartitionsToTxnRequest.self, &frame, version, clientHost, broker.addPartitionsToTxn)
        case .addOffsetsToTxn: return try await serve(AddOffsetsToTxnRequest.self, &frame, version, clientHost, broker.addOffsetsToTxn)
        case .endTxn: return try await serve(EndTxnRequest.self, &frame, version, clientHost, broker.endTxn)
        case .txnOffsetCommit: return try await serve(TxnOffsetCommitRequest.self, &frame, version, clientHost, broker.txnOffsetCommit)
        default:
            throw RequestRouterError.unknownApi(rawKey)
        }
    }

    private func serve<R: KafkaRequestMessage>(
        _ type: R.Type,
        _ frame: inout ByteBuffer,
        _ version: Int16,
        _ clientHost: String,
        expectsResponse: (R) -> Bool = { _ in true },
        _ handler: (R, RequestContext) async throws -> R.Response
    ) async throws -> ByteBuffer? {
        guard let range = SupportedApis.range(for: R.apiKey), range.contains(version) else {
            throw RequestRouterError.unsupportedVersion(api: R.messageName, version: version)
        }
        let header: RequestHeader
        let request: R
        do {
            header = try RequestHeader.decode(from: &frame, version: R.requestHeaderVersion(for: version))
            request = try R.decode(from: &frame, version: version)
        } catch let error as KafkaProtocolError {
            throw RequestRouterError.malformed(api: R.messageName, error: error)
        }
        let context = RequestContext(header: header, version: version, clientHost: clientHost)
        let response = try await handler(request, context)
        guard expectsResponse(request) else { return nil }
        var out = ByteBuffer()
        out.reserveCapacity(256)
        let sizeIndex = out.startKafkaFrame()
        try ResponseHeader(correlationId: header.correlationId).encode(into: &out, version: R.responseHeaderVersion(for: version))
        // One response value serves every version: fields an older version lacks are left out.
        try KafkaEncoding.withFieldsDroppedForOlderVersions { try response.encode(into: &out, version: version) }
        out.finishKafkaFrame(sizeAt: sizeIndex)
        return out
    }

    private func apiVersionsFallback(correlationId: Int32) -> ByteBuffer {
        var response = broker.apiVersions()
        response.errorCode = KafkaErrorCode.unsupportedVersion.rawValue
        var out = ByteBuffer()
        let sizeIndex = out.startKafkaFrame()
        out.writeInteger(correlationId)
        // Version 0 of the response has only the error code and the key ranges, which any
        // ApiVersions value can be encoded as.
        KafkaEncoding.withFieldsDroppedForOlderVersions { try? response.encode(into: &out, version: 0) }
        out.finishKafkaFrame(sizeAt: sizeIndex)
        return out
    }
}

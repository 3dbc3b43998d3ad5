import KafkaClient
import KafkaProtocol
import NIOCore
import NIOPosix
import Synchronization

/// Which node leads the partitions of a two-node cluster, and everything the nodes were asked.
///
/// The dev broker has one node. `LeaderMoveCluster` makes two out of it: each `ClusterNodeFront`
/// is a real listener with a node id of its own that passes requests through to the same dev
/// broker (so both nodes serve the same log, as replicas in sync would), answers Metadata with
/// the two-node view below, and refuses Produce, Fetch and ListOffsets while it is not the leader, with the
/// error a broker that lost leadership returns. Like a real broker (KIP-320) the leader also refuses a
/// Fetch or ListOffsets whose `currentLeaderEpoch` is older (FENCED_LEADER_EPOCH) or newer
/// (UNKNOWN_LEADER_EPOCH) than its own; -1 skips the check. A client can be given stale Metadata
/// answers, as a broker whose metadata lags behind the move gives.
final class LeaderSchedule: Sendable {
    enum Outcome: Equatable, Sendable {
        case forwarded
        case refused(KafkaErrorCode)
        /// A Metadata answer, with the leader it named.
        case metadata(leader: Int32)
        /// A Metadata answer describing the partitions as they were before the last move.
        case staleMetadata(leader: Int32)
    }

    struct Event: Sendable {
        var node: Int32
        var clientId: String
        var apiKey: KafkaApiKey
        var outcome: Outcome
        /// How many leader moves had happened when the request arrived.
        var moves: Int
        /// Fetch and ListOffsets: the `currentLeaderEpoch` of each partition asked for (-1: none sent).
        /// Metadata: the leader epoch the answer named. Produce: empty.
        var leaderEpochs: [Int32] = []
    }

    private struct State {
        var ports: [Int32: Int] = [:]
        var leader: Int32
        var leaderEpoch: Int32 = 0
        /// Leader and epoch before the last move: what a stale Metadata answer names.
        var previous: (leader: Int32, epoch: Int32)?
        var refusal = KafkaErrorCode.notLeaderOrFollower
        var moves = 0
        /// Stale Metadata answers still to give, by client id.
        var staleAnswers: [String: Int] = [:]
        var events: [Event] = []
    }

    private let state: Mutex<State>

    init(leader: Int32) {
        state = Mutex(State(leader: leader))
    }

    /// Makes `node` the leader from now on, with the next leader epoch; the other node refuses
    /// Produce, Fetch and ListOffsets with `refusal`. Moving to the node that leads already
    /// re-elects it: only the epoch changes.
    func moveLeader(to node: Int32, refusingWith refusal: KafkaErrorCode) {
        state.withLock { state in
            state.previous = (state.leader, state.leaderEpoch)
            state.leader = node
            state.leaderEpoch += 1
            state.refusal = refusal
            state.moves += 1
        }
    }

    /// The next `answers` Metadata answers to `clientId`, from whichever node it asks, describe the
    /// partitions as they were before the last move (old leader, old epoch), as a broker whose
    /// metadata lags behind the move answers.
    func serveStaleMetadata(toClient clientId: String, answers: Int = 1) {
        state.withLock { $0.staleAnswers[clientId, default: 0] += answers }
    }

    var events: [Event] { state.withLock { $0.events } }

    fileprivate func register(node: Int32, port: Int) {
        state.withLock { $0.ports[node] = port }
    }

    /// The refusal for a Produce, Fetch or ListOffsets arriving at `node` now with these
    /// `currentLeaderEpoch`s, or nil when it leads and no epoch disagrees with its own.
    fileprivate func refusal(at node: Int32, leaderEpochs: [Int32]) -> KafkaErrorCode? {
        state.withLock { state in
            guard state.leader == node else { return state.refusal }
            if leaderEpochs.contains(where: { $0 >= 0 && $0 < state.leaderEpoch }) { return .fencedLeaderEpoch }
            if leaderEpochs.contains(where: { $0 > state.leaderEpoch }) { return .unknownLeaderEpoch }
            return nil
        }
    }

    fileprivate func record(node: Int32, clientId: String, apiKey: KafkaApiKey, outcome: Outcome, leaderEpochs: [Int32]) {
        state.withLock {
            $0.events.append(Event(node: node, clientId: clientId, apiKey: apiKey, outcome: outcome, moves: $0.moves, leaderEpochs: leaderEpochs))
        }
    }

    /// The backend's metadata as the two-node cluster reports it to `clientId`: the outcome to
    /// record and the leader epoch named.
    fileprivate func rewrite(_ response: inout MetadataResponse, for clientId: String) -> (Outcome, Int32) {
        state.withLock { state in
            response.brokers = state.ports.keys.sorted().map {
                MetadataResponse.MetadataResponseBroker(nodeId: $0, host: "127.0.0.1", port: Int32(state.ports[$0]!), rack: nil)
            }
            response.controllerId = state.ports.keys.min() ?? -1
            let nodes = state.ports.keys.sorted()
            var leader = state.leader
            var epoch = state.leaderEpoch
            var outcome = Outcome.metadata(leader: leader)
            if let previous = state.previous, let remaining = state.staleAnswers[clientId], remaining > 0 {
                state.staleAnswers[clientId] = remaining - 1
                (leader, epoch) = previous
                outcome = .staleMetadata(leader: leader)
            }
            for topic in response.topics.indices {
                for partition in response.topics[topic].partitions.indices {
                    response.topics[topic].partitions[partition].leaderId = leader
                    response.topics[topic].partitions[partition].leaderEpoch = epoch
                    response.topics[topic].partitions[partition].replicaNodes = nodes
                    response.topics[topic].partitions[partition].isrNodes = nodes
                }
            }
            return (outcome, epoch)
        }
    }
}

/// One node of the two-node cluster: a listener on a free loopback port in front of the dev broker.
final class ClusterNodeFront: Sendable {
    let nodeId: Int32
    let port: Int
    private let backendPort: Int
    private let schedule: LeaderSchedule
    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let connections = Mutex<[any Channel]>([])

    private init(nodeId: Int32, backendPort: Int, schedule: LeaderSchedule,
                 server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) {
        self.nodeId = nodeId
        self.backendPort = backendPort
        self.schedule = schedule
        self.server = server
        self.port = server.channel.localAddress!.port!
    }

    static func start(nodeId: Int32, backendPort: Int, schedule: LeaderSchedule) async throws -> ClusterNodeFront {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture { try framedChannel(channel) }
            }
        let front = ClusterNodeFront(nodeId: nodeId, backendPort: backendPort, schedule: schedule, server: server)
        schedule.register(node: nodeId, port: front.port)
        Task { await front.acceptConnections() }
        return front
    }

    /// Closes the listener and every connection through it.
    func shutdown() async {
        try? await server.channel.close()
        for channel in connections.withLock({ $0 }) { try? await channel.close() }
    }

    private static func framedChannel(_ channel: any Channel) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder()))
        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
    }

    private func acceptConnections() async {
        await withDiscardingTaskGroup { group in
            try? await server.executeThenClose { inbound in
                for try await client in inbound {
                    connections.withLock { $0.append(client.channel) }
                    group.addTask { try? await self.serve(client) }
                }
            }
        }
    }

    /// Serves one client connection in order, over a backend connection of its own.
    private func serve(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws {
        let backend = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: backendPort) { channel in
                channel.eventLoop.makeCompletedFuture { try Self.framedChannel(channel) }
            }
        connections.withLock { $0.append(backend.channel) }
        try await backend.executeThenClose { backendInbound, backendOutbound in
            var backendFrames = backendInbound.makeAsyncIterator()
            try await client.executeThenClose { inbound, outbound in
                for try await frame in inbound {
                    let reply = try await answer(frame) { request in
                        try await backendOutbound.write(Self.framed(request))
                        guard let response = try await backendFrames.next() else { throw ChannelError.eof }
                        return response
                    }
                    try await outbound.write(reply)
                }
            }
        }
    }

    /// The response frame (size prefix included) to one request frame.
    private func answer(_ frame: ByteBuffer, forward: (ByteBuffer) async throws -> ByteBuffer) async throws -> ByteBuffer {
        let apiKey = KafkaApiKey(rawValue: frame.getInteger(at: frame.readerIndex, as: Int16.self)!)
        let version = frame.getInteger(at: frame.readerIndex + 2, as: Int16.self)!
        switch apiKey {
        case .metadata:
            var request = frame
            let header = try RequestHeader.decode(from: &request, version: MetadataRequest.requestHeaderVersion(for: version))
            var body = try await forward(frame)
            let responseHeader = try ResponseHeader.decode(from: &body, version: MetadataRequest.responseHeaderVersion(for: version))
            var response = try MetadataResponse.decode(from: &body, version: version)
            let clientId = header.clientId ?? ""
            let (outcome, epoch) = schedule.rewrite(&response, for: clientId)
            schedule.record(node: nodeId, clientId: clientId, apiKey: apiKey, outcome: outcome, leaderEpochs: [epoch])
            return try Self.encode(response, MetadataRequest.self, header: responseHeader, version: version)
        case .produce, .fetch, .listOffsets:
            var request = frame
            let headerVersion: Int16
            switch apiKey {
            case .produce: headerVersion = ProduceRequest.requestHeaderVersion(for: version)
            case .fetch: headerVersion = FetchRequest.requestHeaderVersion(for: version)
            default: headerVersion = ListOffsetsRequest.requestHeaderVersion(for: version)
            }
            let header = try RequestHeader.decode(from: &request, version: headerVersion)
            let clientId = header.clientId ?? ""
            let refuse: (KafkaErrorCode) throws -> ByteBuffer
            let leaderEpochs: [Int32]
            let responseHeader = ResponseHeader(correlationId: header.correlationId)
            switch apiKey {
            case .produce:
                let produce = try ProduceRequest.decode(from: &request, version: version)
                leaderEpochs = []
                refuse = { try Self.encode(Self.refused(produce, $0), ProduceRequest.self, header: responseHeader, version: version) }
            case .fetch:
                let fetch = try FetchRequest.decode(from: &request, version: version)
                leaderEpochs = fetch.topics.flatMap { $0.partitions.map(\.currentLeaderEpoch) }
                refuse = { try Self.encode(Self.refused(fetch, $0), FetchRequest.self, header: responseHeader, version: version) }
            default:
                let listOffsets = try ListOffsetsRequest.decode(from: &request, version: version)
                leaderEpochs = listOffsets.topics.flatMap { $0.partitions.map(\.currentLeaderEpoch) }
                refuse = { try Self.encode(Self.refused(listOffsets, $0), ListOffsetsRequest.self, header: responseHeader, version: version) }
            }
            guard let refusal = schedule.refusal(at: nodeId, leaderEpochs: leaderEpochs) else {
                schedule.record(node: nodeId, clientId: clientId, apiKey: apiKey, outcome: .forwarded, leaderEpochs: leaderEpochs)
                return Self.framed(try await forward(frame))
            }
            schedule.record(node: nodeId, clientId: clientId, apiKey: apiKey, outcome: .refused(refusal), leaderEpochs: leaderEpochs)
            return try refuse(refusal)
        default:
            return Self.framed(try await forward(frame))
        }
    }

    private static func refused(_ request: ProduceRequest, _ code: KafkaErrorCode) -> ProduceResponse {
        var response = ProduceResponse()
        response.responses = request.topicData.map { topic in
            var answer = ProduceResponse.TopicProduceResponse()
            answer.name = topic.name
            answer.partitionResponses = topic.partitionData.map { partition in
                var entry = ProduceResponse.PartitionProduceResponse()
                entry.index = partition.index
                entry.errorCode = code.rawValue
                entry.baseOffset = -1
                entry.logAppendTimeMs = -1
                entry.logStartOffset = -1
                return entry
            }
            return answer
        }
        return response
    }

    private static func refused(_ request: FetchRequest, _ code: KafkaErrorCode) -> FetchResponse {
        var response = FetchResponse()
        response.responses = request.topics.map { topic in
            var answer = FetchResponse.FetchableTopicResponse()
            answer.topic = topic.topic
            answer.topicId = topic.topicId
            answer.partitions = topic.partitions.map { partition in
                var entry = FetchResponse.PartitionData()
                entry.partitionIndex = partition.partition
                entry.errorCode = code.rawValue
                entry.highWatermark = -1
                entry.lastStableOffset = -1
                entry.logStartOffset = -1
                return entry
            }
            return answer
        }
        return response
    }

    private static func refused(_ request: ListOffsetsRequest, _ code: KafkaErrorCode) -> ListOffsetsResponse {
        var response = ListOffsetsResponse()
        response.topics = request.topics.map { topic in
            var answer = ListOffsetsResponse.ListOffsetsTopicResponse()
            answer.name = topic.name
            answer.partitions = topic.partitions.map { partition in
                var entry = ListOffsetsResponse.ListOffsetsPartitionResponse()
                entry.partitionIndex = partition.partitionIndex
                entry.errorCode = code.rawValue
                entry.timestamp = -1
                entry.offset = -1
                return entry
            }
            return answer
        }
        return response
    }

    private static func encode<R: KafkaRequestMessage>(_ response: R.Response, _: R.Type, header: ResponseHeader, version: Int16) throws -> ByteBuffer {
        var out = ByteBuffer()
        let sizeIndex = out.startKafkaFrame()
        try header.encode(into: &out, version: R.responseHeaderVersion(for: version))
        try KafkaEncoding.withFieldsDroppedForOlderVersions { try response.encode(into: &out, version: version) }
        out.finishKafkaFrame(sizeAt: sizeIndex)
        return out
    }

    private static func framed(_ body: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(body.readableBytes + 4)
        out.writeInteger(Int32(body.readableBytes))
        out.writeImmutableBuffer(body)
        return out
    }
}

/// The two-node cluster the leader-move tests run on: a dev broker behind two node fronts, node 1
/// leading at epoch 0, and a producer and a consumer (assigned partition 0 of `topic` from the
/// beginning) that know the cluster through node 1.
struct LeaderMoveCluster {
    let broker: TestBroker
    let schedule: LeaderSchedule
    let node1: ClusterNodeFront
    let node2: ClusterNodeFront
    let topic: String
    let producer: KafkaProducer
    let consumer: KafkaConsumer

    /// Node 1's address, which every client bootstraps from.
    var bootstrap: String { "127.0.0.1:\(node1.port)" }

    /// Creates `topic` with one partition; the producer and consumer have the client ids given,
    /// by which the schedule's events tell them apart.
    static func start(topic: String, producerId: String, consumerId: String) async throws -> LeaderMoveCluster {
        let broker = try await TestBroker.start()
        try await broker.createTopic(topic, partitions: 1)
        let schedule = LeaderSchedule(leader: 1)
        let node1 = try await ClusterNodeFront.start(nodeId: 1, backendPort: broker.port, schedule: schedule)
        let node2 = try await ClusterNodeFront.start(nodeId: 2, backendPort: broker.port, schedule: schedule)
        let bootstrap = "127.0.0.1:\(node1.port)"
        let producer = try await KafkaProducer.make(configuration: try ProducerConfiguration.testing(bootstrap) {
            $0.client.clientId = producerId
        })
        var configuration = try ConsumerConfiguration(bootstrap: bootstrap)
        configuration.client.clientId = consumerId
        configuration.client.retryBackoff = .milliseconds(20)
        configuration.fetchMaxWait = .milliseconds(100)
        let consumer = KafkaConsumer(configuration: configuration)
        try await consumer.assign([TopicPartition(topic, 0): .beginning])
        return LeaderMoveCluster(broker: broker, schedule: schedule, node1: node1, node2: node2, topic: topic,
                                 producer: producer, consumer: consumer)
    }

    func shutdown() async {
        await consumer.close()
        await producer.close()
        await node1.shutdown()
        await node2.shutdown()
        await broker.shutdown()
    }
}

import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Accepts connections and serves each one's requests in order, as Kafka requires:
/// a connection's responses go out in the order its requests came in.
final class BrokerServer: Sendable {
    private let core: BrokerCore
    private let logger: Logger
    private let serverChannel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let connections = Mutex<[ObjectIdentifier: Channel]>([:])

    /// The port the server is bound to.
    let port: Int

    private init(core: BrokerCore, logger: Logger, serverChannel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, port: Int) {
        self.core = core
        self.logger = logger
        self.serverChannel = serverChannel
        self.port = port
    }

    /// Binds the listening socket. Serving starts with `run()`.
    static func bind(host: String, port: Int, maxRequestSize: Int, idleTimeoutMs: Int64, group: any EventLoopGroup) async throws -> (NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, Int) {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: .milliseconds(idleTimeoutMs)))
                    try child.pipeline.syncOperations.addHandler(IdleConnectionCloser())
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameSize: maxRequestSize)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        let bound = channel.channel.localAddress?.port ?? port
        return (channel, bound)
    }

    convenience init(core: BrokerCore, logger: Logger, bound: (NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, Int)) {
        self.init(core: core, logger: logger, serverChannel: bound.0, port: bound.1)
    }

    /// Serves until the listening socket is closed.
    func run() async {
        let router = RequestRouter(broker: core)
        let maxConnections = core.configuration.maxConnections
        do {
            try await serverChannel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        let id = ObjectIdentifier(connection.channel)
                        let accepted = connections.withLock { open -> Bool in
                            guard open.count < maxConnections else { return false }
                            open[id] = connection.channel
                            return true
                        }
                        guard accepted else {
                            logger.warning("refusing connection: \(maxConnections) already open")
                            try? await connection.channel.close()
                            continue
                        }
                        group.addTask {
                            await self.serve(connection, router: router)
                            _ = self.connections.withLock { $0.removeValue(forKey: id) }
                        }
                    }
                }
            }
        } catch {
            logger.debug("listener stopped: \(error)")
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, router: RequestRouter) async {
        let clientHost = connection.channel.remoteAddress?.ipAddress ?? "unknown"
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await frame in inbound {
                    if let response = try await router.handle(frame: frame, clientHost: clientHost) {
                        try await outbound.write(response)
                    }
                }
            }
        } catch {
            // A malformed or unsupported request closes only its own connection.
            logger.debug("closing connection from \(clientHost): \(error)")
        }
    }

    /// Stops accepting and closes every open connection.
    func close() async {
        try? await serverChannel.channel.close()
        let open = connections.withLock { Array($0.values) }
        for channel in open { try? await channel.close() }
    }
}

/// Closes a connection that has been silent past `connections.max.idle.ms`, including one that
/// stalled in the middle of a frame.
final class IdleConnectionCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

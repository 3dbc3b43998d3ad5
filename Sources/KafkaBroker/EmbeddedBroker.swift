import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The Rivulet dev broker, run inside the current process.
///
/// A single-node Kafka-protocol broker with durable logs, for samples, tests and local
/// development: any Kafka client can connect to it.
///
/// ```swift
/// var configuration = BrokerConfiguration(dataDirectory: "/tmp/rivulet-data")
/// configuration.port = 0                       // any free port
/// let broker = try await EmbeddedBroker.start(configuration)
/// print("bootstrap: 127.0.0.1:\(broker.port)")
/// // ...
/// await broker.shutdown()
/// ```
public final class EmbeddedBroker: Sendable {
    private let core: BrokerCore
    private let server: BrokerServer
    private let tasks = Mutex<[Task<Void, Never>]>([])

    /// The port the broker listens on.
    public var port: Int { server.port }
    /// `host:port` for clients' bootstrap servers.
    public var bootstrapAddress: String { "\(core.advertisedHost):\(port)" }

    private init(core: BrokerCore, server: BrokerServer) {
        self.core = core
        self.server = server
    }

    /// Recovers any data in the data directory, binds, and starts serving.
    public static func start(
        _ configuration: BrokerConfiguration,
        logger: Logger = Logger(label: "rivulet.broker"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> EmbeddedBroker {
        let bound = try await BrokerServer.bind(
            host: configuration.host, port: configuration.port, maxRequestSize: configuration.maxRequestSize,
            idleTimeoutMs: configuration.idleConnectionTimeoutMs, group: eventLoopGroup)
        let marker = configuration.dataDirectory + "/.clean-shutdown"
        let clean = POSIXFile.exists(marker)
        POSIXFile.remove(marker)
        let core = try BrokerCore(configuration: configuration, advertisedPort: bound.1, recover: !clean, logger: logger)
        let server = BrokerServer(core: core, logger: logger, bound: bound)
        let broker = EmbeddedBroker(core: core, server: server)
        let serving = Task { await server.run() }
        let interval = configuration.housekeepingIntervalMs
        let housekeeping = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(interval))
                await core.housekeeping()
            }
        }
        let cleaning = Task { await core.cleaner.run() }
        broker.tasks.withLock { $0 = [serving, housekeeping, cleaning] }
        logger.info("dev broker listening on \(configuration.host):\(bound.1), data in \(configuration.dataDirectory)")
        return broker
    }

    /// Serves until `shutdown()` is called.
    public func waitUntilShutdown() async {
        let serving = tasks.withLock { $0.first }
        await serving?.value
    }

    /// Stops serving, flushes every log and marks the shutdown clean so the next start skips recovery.
    public func shutdown() async {
        await server.close()
        // A compaction pass in progress stops between batches; its output is discarded.
        await core.cleaner.stop()
        let running = tasks.withLock { tasks -> [Task<Void, Never>] in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
        core.topics.flushAll()
        if let file = try? POSIXFile(path: core.configuration.dataDirectory + "/.clean-shutdown", create: true) {
            try? file.sync()
        }
    }
}

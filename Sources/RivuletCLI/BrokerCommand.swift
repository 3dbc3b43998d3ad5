import Dispatch
import Synchronization
import ArgumentParser
import KafkaBroker
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `rivulet broker`: runs the dev broker in the foreground until SIGINT or SIGTERM.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the single-node dev broker."
    )

    @Option(help: "Address to listen on, host:port.")
    var listen = "127.0.0.1:9092"

    @Option(help: "Host advertised to clients in metadata (default: the listen host).")
    var advertisedHost: String?

    @Option(help: "Directory for logs, offsets and transaction state.")
    var dataDir: String

    @Option(help: "Partitions of auto-created topics.")
    var defaultPartitions: Int32 = 1

    @Flag(help: "Refuse to create topics on first use.")
    var noAutoCreateTopics = false

    @Option(help: "fsync after this many batches (1 = every batch); by default every flush.ms.")
    var flushMessages: Int?

    @Option(help: "fsync interval in milliseconds.")
    var flushMs: Int64 = 1000

    @Option(help: "socket.request.max.bytes: a larger request frame closes its connection.")
    var maxRequestSize: Int?

    @Option(help: "Connections beyond this many are closed on accept.")
    var maxConnections: Int?

    @Option(help: "connections.max.idle.ms: a connection silent this long, even mid-frame, is closed.")
    var connectionsMaxIdleMs: Int64?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen must be host:port, got '\(listen)'")
        }
        var configuration = BrokerConfiguration(dataDirectory: dataDir)
        configuration.host = String(listen[..<colon])
        configuration.port = port
        configuration.advertisedHost = advertisedHost
        configuration.defaultPartitions = defaultPartitions
        configuration.autoCreateTopics = !noAutoCreateTopics
        if let flushMessages { configuration.defaultLogConfig.flushMessages = flushMessages }
        configuration.defaultLogConfig.flushMs = flushMs
        if let maxRequestSize { configuration.maxRequestSize = maxRequestSize }
        if let maxConnections { configuration.maxConnections = maxConnections }
        if let connectionsMaxIdleMs { configuration.idleConnectionTimeoutMs = connectionsMaxIdleMs }
        var logger = Logger(label: "rivulet.broker")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        let broker = try await EmbeddedBroker.start(configuration, logger: logger)
        print("rivulet dev broker listening on \(broker.bootstrapAddress)")
        // Scripts wait for this line; when stdout is a pipe it would otherwise sit in the buffer.
        fflush(nil)
        await SignalWaiter.waitForTermination()
        await broker.shutdown()
    }
}

/// Waits for SIGINT or SIGTERM.
enum SignalWaiter {
    static func waitForTermination() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let queue = DispatchQueue(label: "rivulet.signals")
            let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
            let once = OnceFlag()
            for source in sources {
                source.setEventHandler {
                    if once.set() {
                        sources.forEach { $0.cancel() }
                        continuation.resume()
                    }
                }
                source.resume()
            }
        }
    }
}

/// True exactly once.
final class OnceFlag: Sendable {
    private let done = Mutex(false)
    func set() -> Bool { done.withLock { was in defer { was = true }; return !was } }
}

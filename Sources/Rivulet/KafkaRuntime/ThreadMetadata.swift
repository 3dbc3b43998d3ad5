/// What a stream thread is doing, as ``KafkaStreams/localThreadsMetadata()`` reports it.
public struct ThreadMetadata: Sendable, Hashable {
    /// The life of a stream thread.
    public enum State: String, Sendable, Hashable {
        case created, starting
        /// Its group is rebalancing: its tasks were committed and closed.
        case partitionsRevoked
        /// It received tasks and restores their stores from changelogs.
        case partitionsAssigned
        case running, pendingShutdown, dead
    }

    /// `<application.id>-StreamThread-<n>`, also the consumer's client id.
    public var threadName: String
    /// What it does now.
    public var state: State
    /// The tasks it runs (or restores), sorted.
    public var activeTasks: [TaskId]

    /// A report of one thread.
    public init(threadName: String, state: State, activeTasks: [TaskId]) {
        self.threadName = threadName
        self.state = state
        self.activeTasks = activeTasks
    }
}

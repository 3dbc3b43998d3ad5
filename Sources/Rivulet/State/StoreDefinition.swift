/// A store as a topology holds it: how to build a fresh instance for a task, whatever its kind.
///
/// Key-value store builders produce one today; window and session store builders will produce
/// the same, so topologies, tasks and restoration need not know the kind.
public struct StoreDefinition: Sendable {
    public let name: String
    public let persistent: Bool
    /// Whether writes go to a changelog topic `<application.id>-<name>-changelog`.
    public let loggingEnabled: Bool
    /// Topic configs for the changelog on top of `cleanup.policy=compact`.
    public let changelogConfig: [String: String]
    let build: @Sendable () -> BuiltStore

    public init(
        name: String,
        persistent: Bool,
        loggingEnabled: Bool,
        changelogConfig: [String: String],
        build: @escaping @Sendable () -> BuiltStore
    ) {
        self.name = name
        self.persistent = persistent
        self.loggingEnabled = loggingEnabled
        self.changelogConfig = changelogConfig
        self.build = build
    }
}

/// One task's instance of a store: the outermost layer (what processors get) and how to write
/// changelog records into the innermost one, below caching and logging.
public struct BuiltStore {
    public let store: any StateStore
    public let restore: ([ChangelogRecord]) throws -> Void

    public init(store: any StateStore, restore: @escaping ([ChangelogRecord]) throws -> Void) {
        self.store = store
        self.restore = restore
    }
}

/// Anything that can become a ``StoreDefinition``.
public protocol StoreBuilding: Sendable {
    var storeDefinition: StoreDefinition { get }
}

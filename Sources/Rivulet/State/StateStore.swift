/// Anything a task keeps state in: the key-value stores today, window and session stores later.
///
/// Stores are built in layers (typed facade → cache → change logging → bytes on disk or in
/// memory), each layer a `StateStore` wrapping the next, so every kind of store gets caching and
/// logging the same way. A task owns its stores and calls them from one thread at a time.
public protocol StateStore: AnyObject {
    var name: String { get }
    /// Whether the data survives a restart (RocksDB); decides whether a checkpoint is worth writing.
    var persistent: Bool { get }
    var isOpen: Bool { get }
    /// Opens the store for a task. Layers pass the call on to the store they wrap.
    func initialize(context: StateStoreContext) throws
    /// Writes buffered data down (caches to the store below, RocksDB memtables to disk).
    func flush() throws
    func close() throws
}

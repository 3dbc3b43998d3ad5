import NIOCore

/// A key-value store held in memory, ordered like RocksDB. Lost on restart: it is rebuilt from
/// its changelog, and never checkpointed.
public final class InMemoryKeyValueStore: KeyValueStore {
    public let name: String
    public var persistent: Bool { false }
    public private(set) var isOpen = false
    private var map = SortedByteMap<ByteBuffer>()

    public init(name: String) {
        self.name = name
    }

    public func initialize(context: StateStoreContext) throws {
        isOpen = true
    }

    /// Opens the store outside a task (tools, tests).
    public func open() {
        isOpen = true
    }

    public func get(_ key: ByteBuffer) throws -> ByteBuffer? {
        try checkOpen()
        return map[key]
    }

    public func put(_ key: ByteBuffer, _ value: ByteBuffer?) throws {
        try checkOpen()
        if let value {
            map.set(key.compacted(), value.compacted())
        } else {
            map.remove(key)
        }
    }

    public func putIfAbsent(_ key: ByteBuffer, _ value: ByteBuffer?) throws -> ByteBuffer? {
        try checkOpen()
        if let existing = map[key] { return existing }
        if let value { map.set(key.compacted(), value.compacted()) }
        return nil
    }

    public func delete(_ key: ByteBuffer) throws -> ByteBuffer? {
        try checkOpen()
        return map.remove(key)
    }

    public func range(from: ByteBuffer?, to: ByteBuffer?) throws -> any KeyValueIterator {
        try checkOpen()
        // A snapshot: the caller may write to the store while iterating.
        return ArrayKeyValueIterator(map.entries(from: from, to: to).map { KeyValue($0.key, $0.value) })
    }

    public func approximateNumEntries() throws -> Int {
        try checkOpen()
        return map.count
    }

    public func flush() throws {}

    public func close() throws {
        isOpen = false
        map.removeAll()
    }

    private func checkOpen() throws {
        guard isOpen else { throw StateStoreError.notOpen(store: name) }
    }
}

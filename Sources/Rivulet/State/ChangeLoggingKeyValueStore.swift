import NIOCore

/// Sends every write of the store below to the changelog, so that the store can be rebuilt on
/// another instance or after losing its disk. Reads pass straight through.
public final class ChangeLoggingKeyValueStore: KeyValueStore {
    /// How values are laid out in the store below, which decides what goes to the changelog.
    public enum ValueFormat: Sendable {
        /// Values as they are; changelog records carry the timestamp of the record being processed.
        case plain
        /// ``TimestampedBytes``: the changelog gets the bare value, stamped with its own timestamp.
        case timestamped
    }

    public let inner: any KeyValueStore
    public let format: ValueFormat
    public var name: String { inner.name }
    public var persistent: Bool { inner.persistent }
    public var isOpen: Bool { inner.isOpen }
    private var sink: (any ChangelogSink)?
    private var recordContextHolder: (any RecordContextHolder)?

    public init(wrapping inner: any KeyValueStore, format: ValueFormat) {
        self.inner = inner
        self.format = format
    }

    public func initialize(context: StateStoreContext) throws {
        try inner.initialize(context: context)
        sink = context.changelogSink
        recordContextHolder = context.recordContextHolder
    }

    public func get(_ key: ByteBuffer) throws -> ByteBuffer? { try inner.get(key) }

    public func put(_ key: ByteBuffer, _ value: ByteBuffer?) throws {
        try inner.put(key, value)
        try log(key, value)
    }

    public func putIfAbsent(_ key: ByteBuffer, _ value: ByteBuffer?) throws -> ByteBuffer? {
        let previous = try inner.putIfAbsent(key, value)
        if previous == nil { try log(key, value) }
        return previous
    }

    public func putAll(_ entries: [KeyValue<ByteBuffer, ByteBuffer?>]) throws {
        try inner.putAll(entries)
        for entry in entries { try log(entry.key, entry.value) }
    }

    public func delete(_ key: ByteBuffer) throws -> ByteBuffer? {
        let old = try inner.delete(key)
        try log(key, nil)
        return old
    }

    public func range(from: ByteBuffer?, to: ByteBuffer?) throws -> any KeyValueIterator {
        try inner.range(from: from, to: to)
    }

    public func prefixScan(_ prefix: ByteBuffer) throws -> any KeyValueIterator { try inner.prefixScan(prefix) }
    public func all() throws -> any KeyValueIterator { try inner.all() }
    public func approximateNumEntries() throws -> Int { try inner.approximateNumEntries() }
    public func flush() throws { try inner.flush() }
    public func close() throws { try inner.close() }

    private func log(_ key: ByteBuffer, _ value: ByteBuffer?) throws {
        guard let sink else { return }
        let now = recordContextHolder?.recordContext.timestamp ?? -1
        switch format {
        case .plain:
            try sink.logChange(store: name, key: key, value: value, timestamp: now)
        case .timestamped:
            guard let value else {
                try sink.logChange(store: name, key: key, value: nil, timestamp: now)
                return
            }
            if let (bare, timestamp) = TimestampedBytes.unpack(value) {
                try sink.logChange(store: name, key: key, value: bare, timestamp: timestamp)
            } else {
                try sink.logChange(store: name, key: key, value: value, timestamp: now)
            }
        }
    }
}

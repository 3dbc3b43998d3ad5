import NIOCore

/// A byte-level, ordered key-value store (Kafka's `KeyValueStore<Bytes, byte[]>`).
///
/// Keys order lexicographically by unsigned bytes, as RocksDB's default comparator orders them,
/// so every implementation answers range queries identically. A `nil` value is a delete, as a
/// tombstone is in Kafka.
public protocol KeyValueStore: StateStore {
    func get(_ key: ByteBuffer) throws -> ByteBuffer?
    /// Writes `value` for `key`; `nil` deletes.
    func put(_ key: ByteBuffer, _ value: ByteBuffer?) throws
    /// Writes only when the key has no value; returns the value that was there.
    @discardableResult
    func putIfAbsent(_ key: ByteBuffer, _ value: ByteBuffer?) throws -> ByteBuffer?
    func putAll(_ entries: [KeyValue<ByteBuffer, ByteBuffer?>]) throws
    /// Removes the key; returns the value it had.
    @discardableResult
    func delete(_ key: ByteBuffer) throws -> ByteBuffer?
    /// Entries with `from <= key <= to`, in key order; a `nil` bound is open.
    func range(from: ByteBuffer?, to: ByteBuffer?) throws -> any KeyValueIterator
    /// Entries whose key starts with `prefix`, in key order.
    func prefixScan(_ prefix: ByteBuffer) throws -> any KeyValueIterator
    /// Every entry, in key order.
    func all() throws -> any KeyValueIterator
    /// An estimate (exact for the in-memory store; RocksDB's `estimate-num-keys`).
    func approximateNumEntries() throws -> Int
}

extension KeyValueStore {
    public func all() throws -> any KeyValueIterator { try range(from: nil, to: nil) }

    public func putIfAbsent(_ key: ByteBuffer, _ value: ByteBuffer?) throws -> ByteBuffer? {
        if let existing = try get(key) { return existing }
        try put(key, value)
        return nil
    }

    public func putAll(_ entries: [KeyValue<ByteBuffer, ByteBuffer?>]) throws {
        for entry in entries { try put(entry.key, entry.value) }
    }

    public func delete(_ key: ByteBuffer) throws -> ByteBuffer? {
        let old = try get(key)
        try put(key, nil)
        return old
    }

    public func prefixScan(_ prefix: ByteBuffer) throws -> any KeyValueIterator {
        let upper = ByteOrder.prefixUpperBound(prefix)
        return PrefixFilteringIterator(inner: try range(from: prefix, to: upper), prefix: prefix)
    }
}

/// Entries of a store in key order. Iterators over RocksDB hold native resources: call
/// ``close()`` when done early (they also close when released or when their store closes).
public protocol KeyValueIterator: AnyObject, IteratorProtocol, Sequence
where Element == KeyValue<ByteBuffer, ByteBuffer>, Iterator == Self {
    /// The next entry; non-mutating, since iterators are objects (callable on a `let`).
    func next() -> KeyValue<ByteBuffer, ByteBuffer>?
    /// The key `next()` would return, without consuming it.
    func peekNextKey() -> ByteBuffer?
    func close()
}

/// An iterator over entries already in memory.
final class ArrayKeyValueIterator: KeyValueIterator {
    private var entries: [KeyValue<ByteBuffer, ByteBuffer>]
    private var index = 0

    init(_ entries: [KeyValue<ByteBuffer, ByteBuffer>]) {
        self.entries = entries
    }

    func next() -> KeyValue<ByteBuffer, ByteBuffer>? {
        guard index < entries.count else { return nil }
        defer { index += 1 }
        return entries[index]
    }

    func peekNextKey() -> ByteBuffer? {
        index < entries.count ? entries[index].key : nil
    }

    func close() {
        entries = []
        index = 0
    }
}

/// Stops an iterator at the first key that no longer has the prefix (the upper bound of a range
/// scan over a prefix may include the bound itself, which does not have it).
final class PrefixFilteringIterator: KeyValueIterator {
    private let inner: any KeyValueIterator
    private let prefix: ByteBuffer

    init(inner: any KeyValueIterator, prefix: ByteBuffer) {
        self.inner = inner
        self.prefix = prefix
    }

    func next() -> KeyValue<ByteBuffer, ByteBuffer>? {
        guard let key = inner.peekNextKey(), ByteOrder.hasPrefix(key, prefix) else { return nil }
        return inner.next()
    }

    func peekNextKey() -> ByteBuffer? {
        guard let key = inner.peekNextKey(), ByteOrder.hasPrefix(key, prefix) else { return nil }
        return key
    }

    func close() { inner.close() }
}

import NIOCore

/// Puts the task's ``RecordCache`` in front of a store: writes stay in the cache until a commit
/// (or eviction) flushes them, reads see them at once, and each flushed entry is written below
/// and reported to a flush listener, which is how a cached table emits one update per key per
/// commit.
///
/// Without a cache, or with a zero-sized one, the layer writes through and reports each write as
/// it happens.
public final class CachingKeyValueStore: KeyValueStore {
    /// Called for each entry written below: the key, the new value, the value the store below had
    /// before (`nil` when absent), and the context of the write.
    public typealias FlushListener = (
        _ key: ByteBuffer, _ newValue: ByteBuffer?, _ oldValue: ByteBuffer?, _ context: RecordContext
    ) throws -> Void

    public let inner: any KeyValueStore
    public var name: String { inner.name }
    public var persistent: Bool { inner.persistent }
    public var isOpen: Bool { inner.isOpen }

    // Read per get and put by the one thread that runs the store's task, never in accesses that
    // overlap: no run-time exclusivity checks.
    @exclusivity(unchecked) private var cache: RecordCache?
    /// This store's namespace in `cache`, registered while `cache` is set. A `let`, created with
    /// the store: reading it per get and put costs no retain and no exclusivity check.
    private let namedCache = NamedCache()
    /// Whether `namedCache` is registered in `cache` (what the per-record paths check).
    @exclusivity(unchecked) private var cached = false
    private var namespace = ""
    @exclusivity(unchecked) private var recordContextHolder: (any RecordContextHolder)?
    private var flushListener: FlushListener?

    public init(wrapping inner: any KeyValueStore) {
        self.inner = inner
    }

    /// Whether writes are being held in a cache (a cache of non-zero size was given at initialization).
    public var isCaching: Bool { cache != nil }

    public func initialize(context: StateStoreContext) throws {
        try inner.initialize(context: context)
        recordContextHolder = context.recordContextHolder
        if let cache = context.recordCache, cache.isEnabled {
            self.cache = cache
            namespace = "\(context.taskId)-\(name)"
            namedCache.flushHandler = { [unowned self] entries in
                try self.writeDown(entries)
            }
            cache.register(namespace: namespace, cache: namedCache)
            cached = true
        }
    }

    /// Sets what to tell about entries the cache writes below. Returns whether writes are cached:
    /// when they are not, no listener is kept and the owner of the store forwards its updates
    /// itself, as it would without this layer.
    @discardableResult
    public func setFlushListener(_ listener: @escaping FlushListener) -> Bool {
        guard isCaching else { return false }
        flushListener = listener
        return true
    }

    public func get(_ key: ByteBuffer) throws -> ByteBuffer? {
        if cached, let entry = namedCache.get(key) {
            return entry
        }
        return try inner.get(key)
    }

    /// ``get(_:)`` for a value of two big-endian `Int64`s read in the cache entry (see
    /// ``NamedCache/getInt64Pair(_:)``); `.miss` when nothing is cached, and the caller reads below.
    @usableFromInline
    func getInt64Pair(_ key: ByteBuffer) -> CachedInt64Pair {
        guard cached else { return .miss }
        return namedCache.getInt64Pair(key)
    }

    /// ``put(_:_:)`` of a value of two big-endian `Int64`s, written into the key's cache entry
    /// when it has one of that size (see ``RecordCache/putInt64Pair(into:key:_:_:context:)``);
    /// `false`, nothing done, otherwise.
    @usableFromInline
    func putInt64Pair(_ key: ByteBuffer, _ first: Int64, _ second: Int64) throws -> Bool {
        guard cached, let cache else { return false }
        let context = recordContextHolder?.recordContext ?? .punctuation(at: -1)
        return try cache.putInt64Pair(into: namedCache, key: key, first, second, context: context)
    }

    public func put(_ key: ByteBuffer, _ value: ByteBuffer?) throws {
        guard cached, let cache else {
            try writeThrough(key, value)
            return
        }
        let context = recordContextHolder?.recordContext ?? .punctuation(at: -1)
        try cache.put(into: namedCache, key: key, value: value, context: context)
    }

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

    /// The cached entries merged over the store's: the cache wins on equal keys, and its deletes
    /// hide the store's entries.
    public func range(from: ByteBuffer?, to: ByteBuffer?) throws -> any KeyValueIterator {
        let stored = try inner.range(from: from, to: to)
        guard let cache else { return stored }
        return MergedCacheIterator(cached: cache.range(namespace: namespace, from: from, to: to), stored: stored)
    }

    public func approximateNumEntries() throws -> Int {
        try inner.approximateNumEntries() + (cache?.count(namespace: namespace) ?? 0)
    }

    /// Flushes the cache (emitting its dirty entries in order), then the store below.
    public func flush() throws {
        if let cache { try cache.flush(namespace: namespace) }
        try inner.flush()
    }

    public func close() throws {
        if let cache {
            try cache.flush(namespace: namespace)
            cache.unregister(namespace: namespace)
            _ = namedCache.removeAll()
            self.cache = nil
            cached = false
        }
        try inner.close()
    }

    private func writeThrough(_ key: ByteBuffer, _ value: ByteBuffer?) throws {
        try inner.put(key, value)
    }

    /// Writes flushed entries below and reports them, each under the context it was written in.
    private func writeDown(_ entries: [RecordCache.DirtyEntry]) throws {
        let holder = recordContextHolder
        let saved = holder?.recordContext
        defer { if let saved { holder?.recordContext = saved } }
        for entry in entries {
            holder?.recordContext = entry.context
            let old = flushListener == nil ? nil : try inner.get(entry.key)
            try inner.put(entry.key, entry.value)
            if let flushListener {
                try flushListener(entry.key, entry.value, old, entry.context)
            }
        }
    }
}

/// Merges a snapshot of cached entries (with deletes) over a store iterator, both in key order.
final class MergedCacheIterator: KeyValueIterator {
    private let cached: [(key: ByteBuffer, value: ByteBuffer?)]
    private var index = 0
    private let stored: any KeyValueIterator
    private var pending: KeyValue<ByteBuffer, ByteBuffer>?

    init(cached: [(key: ByteBuffer, value: ByteBuffer?)], stored: any KeyValueIterator) {
        self.cached = cached
        self.stored = stored
        advance()
    }

    private func advance() {
        pending = nil
        while pending == nil {
            let cachedKey = index < cached.count ? cached[index].key : nil
            let storedKey = stored.peekNextKey()
            switch (cachedKey, storedKey) {
            case (nil, nil):
                return
            case (nil, _?):
                pending = stored.next()
            case (let c?, nil):
                if let value = cached[index].value { pending = KeyValue(c, value) }
                index += 1
            case (let c?, let s?):
                let order = ByteOrder.compare(c, s)
                if order > 0 {
                    pending = stored.next()
                } else {
                    if order == 0 { _ = stored.next() }
                    if let value = cached[index].value { pending = KeyValue(c, value) }
                    index += 1
                }
            }
        }
    }

    func next() -> KeyValue<ByteBuffer, ByteBuffer>? {
        guard let current = pending else { return nil }
        advance()
        return current
    }

    func peekNextKey() -> ByteBuffer? { pending?.key }

    func close() {
        stored.close()
        index = cached.count
        pending = nil
    }
}

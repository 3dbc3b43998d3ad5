import NIOCore

/// The memory that caching stores share (Kafka's thread cache, `cache.max.bytes.buffering`).
///
/// Each caching store has a namespace in it. Writes to a key between two commits fold into one
/// entry, so a table emits one update per key per commit instead of one per input record. When
/// the total size goes over `maxBytes`, the least recently used entries of the namespace being
/// written are evicted; evicting a dirty entry first flushes every dirty entry of that namespace,
/// in the order they became dirty, so downstream never sees a key's updates out of order.
public final class RecordCache {
    /// One dirty entry handed to a namespace's flush handler.
    public struct DirtyEntry {
        public var key: ByteBuffer
        /// `nil`: the key was deleted.
        public var value: ByteBuffer?
        /// The context of the write that made the entry what it is.
        public var context: RecordContext
    }

    /// Writes dirty entries below the cache and emits them downstream, in order.
    public typealias FlushHandler = ([DirtyEntry]) throws -> Void

    /// Bytes of bookkeeping counted per entry on top of its key and value.
    static let entryOverhead = 64

    public let maxBytes: Int
    public private(set) var currentBytes = 0
    private var namespaces: [String: NamedCache] = [:]

    /// `maxBytes == 0` disables caching: stores then write through and emit every update.
    public init(maxBytes: Int) {
        self.maxBytes = max(0, maxBytes)
    }

    public var isEnabled: Bool { maxBytes > 0 }

    /// Registers a namespace and what to do with its dirty entries.
    public func register(namespace: String, flushHandler: @escaping FlushHandler) {
        namespaces[namespace] = NamedCache(flushHandler: flushHandler)
    }

    /// Drops a namespace and its entries (dirty ones included: flush first).
    public func unregister(namespace: String) {
        if let cache = namespaces.removeValue(forKey: namespace) {
            currentBytes -= cache.bytes
        }
    }

    /// The cached state of a key: `.some(nil)` is a cached delete, `nil` a miss.
    public func get(namespace: String, key: ByteBuffer) -> ByteBuffer?? {
        namespaces[namespace]?.get(key)
    }

    /// Caches a write as dirty, then evicts while over budget.
    public func put(namespace: String, key: ByteBuffer, value: ByteBuffer?, context: RecordContext) throws {
        guard let cache = namespaces[namespace] else { return }
        currentBytes += cache.put(key: key, value: value, context: context)
        while currentBytes > maxBytes, !cache.isEmpty {
            currentBytes += try cache.evictLeastRecentlyUsed()
        }
    }

    /// Emits every dirty entry of the namespace, in order.
    public func flush(namespace: String) throws {
        guard let cache = namespaces[namespace] else { return }
        currentBytes += try cache.flush()
    }

    /// The cached entries of a namespace with `from <= key <= to`, deletes included, in key order.
    public func range(namespace: String, from: ByteBuffer?, to: ByteBuffer?) -> [(key: ByteBuffer, value: ByteBuffer?)] {
        namespaces[namespace]?.range(from: from, to: to) ?? []
    }

    /// How many entries a namespace holds.
    public func count(namespace: String) -> Int {
        namespaces[namespace]?.count ?? 0
    }

    /// Whether any namespace has entries waiting to be flushed.
    public var hasDirtyEntries: Bool {
        namespaces.values.contains { $0.hasDirtyEntries }
    }

    /// Whether a task's namespaces (`<task id>-<store>`) have entries waiting to be flushed.
    public func hasDirtyEntries(task: TaskId) -> Bool {
        let prefix = "\(task)-"
        return namespaces.contains { $0.key.hasPrefix(prefix) && $0.value.hasDirtyEntries }
    }
}

/// One store's part of the record cache. Recency and dirtiness are kept as queues of
/// (key, stamp) with stale pairs skipped when popped: each touch is O(1) and needs no linked
/// list of nodes.
final class NamedCache {
    private struct Entry {
        var value: ByteBuffer?
        var isDirty: Bool
        var context: RecordContext
        var accessStamp: UInt64
        var dirtyStamp: UInt64

        var size: Int { (value?.readableBytes ?? 0) + RecordCache.entryOverhead }
    }

    private var entries = SortedByteMap<Entry>()
    private var recency = CircularBuffer<(key: ByteBuffer, stamp: UInt64)>()
    private var dirtyOrder = CircularBuffer<(key: ByteBuffer, stamp: UInt64)>()
    private var stamp: UInt64 = 0
    private var dirtyCount = 0
    private let flushHandler: RecordCache.FlushHandler
    private(set) var bytes = 0

    init(flushHandler: @escaping RecordCache.FlushHandler) {
        self.flushHandler = flushHandler
    }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var hasDirtyEntries: Bool { dirtyCount > 0 }

    func get(_ key: ByteBuffer) -> ByteBuffer?? {
        let touched = stamp &+ 1
        guard let value = entries.modify(key, { entry -> ByteBuffer? in
            entry.accessStamp = touched
            return entry.value
        }) else { return nil }
        stamp = touched
        recency.append((key, stamp))
        compactQueuesIfNeeded()
        return .some(value)
    }

    /// Returns the change in bytes.
    func put(key: ByteBuffer, value: ByteBuffer?, context: RecordContext) -> Int {
        stamp &+= 1
        let key = key.compacted()
        let entry = Entry(value: value?.compacted(), isDirty: true, context: context, accessStamp: stamp, dirtyStamp: stamp)
        var delta = entry.size
        if let old = entries.set(key, entry) {
            delta -= old.size
            if old.isDirty { dirtyCount -= 1 }
        } else {
            delta += key.readableBytes
        }
        dirtyCount += 1
        recency.append((key, stamp))
        dirtyOrder.append((key, stamp))
        bytes += delta
        compactQueuesIfNeeded()
        return delta
    }

    /// Evicts the least recently used entry, flushing all dirty entries first if it is dirty.
    /// Returns the change in bytes.
    func evictLeastRecentlyUsed() throws -> Int {
        var delta = 0
        while let (key, stamp) = recency.popFirst() {
            guard let entry = entries[key], entry.accessStamp == stamp else { continue }
            if entry.isDirty { delta += try flush() }
            if let removed = entries.remove(key) {
                let size = removed.size + key.readableBytes
                bytes -= size
                delta -= size
            }
            return delta
        }
        return delta
    }

    /// Hands every dirty entry to the flush handler in the order they became dirty, marks them
    /// clean and drops clean deletes. Returns the change in bytes.
    func flush() throws -> Int {
        guard dirtyCount > 0 else { return 0 }
        var batch: [RecordCache.DirtyEntry] = []
        batch.reserveCapacity(dirtyCount)
        var delta = 0
        while let (key, stamp) = dirtyOrder.popFirst() {
            guard var entry = entries[key], entry.isDirty, entry.dirtyStamp == stamp else { continue }
            batch.append(RecordCache.DirtyEntry(key: key, value: entry.value, context: entry.context))
            if entry.value == nil {
                // A delete that reached the store below has nothing left to cache.
                entries.remove(key)
                let size = entry.size + key.readableBytes
                bytes -= size
                delta -= size
            } else {
                entry.isDirty = false
                entries.set(key, entry)
            }
        }
        dirtyCount = 0
        // Entries are clean before the handler runs: it may write to other caches, which may
        // evict from this one, and must not see these entries as dirty again.
        try flushHandler(batch)
        return delta
    }

    func range(from: ByteBuffer?, to: ByteBuffer?) -> [(key: ByteBuffer, value: ByteBuffer?)] {
        entries.entries(from: from, to: to).map { ($0.key, $0.value.value) }
    }

    /// Rebuilds the queues from live entries when stale pairs dominate them. The slack (four
    /// times the live entries, plus 1024) keeps the rebuild, a sort of the live entries, rare
    /// next to the touches that fill the queues, while bounding their memory.
    private func compactQueuesIfNeeded() {
        let limit = 4 * entries.count + 1024
        if recency.count > limit {
            recency = Self.queue(entries.entries(from: nil, to: nil).map { ($0.value.accessStamp, $0.key) })
        }
        if dirtyOrder.count > limit {
            dirtyOrder = Self.queue(entries.entries(from: nil, to: nil).compactMap { $0.value.isDirty ? ($0.value.dirtyStamp, $0.key) : nil })
        }
    }

    /// A queue of (key, stamp) in stamp order.
    private static func queue(_ pairs: [(UInt64, ByteBuffer)]) -> CircularBuffer<(key: ByteBuffer, stamp: UInt64)> {
        var pairs = pairs
        pairs.sort { $0.0 < $1.0 }
        var queue = CircularBuffer<(key: ByteBuffer, stamp: UInt64)>(initialCapacity: max(16, pairs.count * 2))
        for (stamp, key) in pairs { queue.append((key: key, stamp: stamp)) }
        return queue
    }
}

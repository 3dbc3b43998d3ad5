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
    // Updated per write by the one thread that runs the owning task: no run-time exclusivity check.
    @exclusivity(unchecked) public private(set) var currentBytes = 0
    private var namespaces: [String: NamedCache] = [:]

    /// `maxBytes == 0` disables caching: stores then write through and emit every update.
    public init(maxBytes: Int) {
        self.maxBytes = max(0, maxBytes)
    }

    public var isEnabled: Bool { maxBytes > 0 }

    /// Registers a namespace and what to do with its dirty entries.
    public func register(namespace: String, flushHandler: @escaping FlushHandler) {
        register(namespace: namespace, cache: NamedCache(flushHandler: flushHandler))
    }

    /// Registers a namespace whose entries live in `cache`, which the registering store keeps
    /// (its reads and writes then skip the lookup by name). `cache` must be empty.
    func register(namespace: String, cache: NamedCache) {
        namespaces[namespace] = cache
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
        try put(into: cache, key: key, value: value, context: context)
    }

    /// ``put(namespace:key:value:context:)`` into a namespace registered with
    /// ``register(namespace:cache:)``.
    func put(into cache: NamedCache, key: ByteBuffer, value: ByteBuffer?, context: RecordContext) throws {
        currentBytes += cache.put(key: key, value: value, context: context)
        while currentBytes > maxBytes, !cache.isEmpty {
            currentBytes += try cache.evictLeastRecentlyUsed()
        }
    }

    /// ``put(into:key:value:context:)`` of a value of two big-endian `Int64`s, written into the
    /// key's entry when it holds a value of that size; `false` (nothing done) otherwise, and the
    /// caller puts the encoded bytes.
    func putInt64Pair(into cache: NamedCache, key: ByteBuffer, _ first: Int64, _ second: Int64, context: RecordContext) throws -> Bool {
        guard let delta = cache.putInt64Pair(key: key, first, second, context: context) else { return false }
        currentBytes += delta
        while currentBytes > maxBytes, !cache.isEmpty {
            currentBytes += try cache.evictLeastRecentlyUsed()
        }
        return true
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

/// One store's part of the record cache: a hash map from key to a slot, with two lists threaded
/// through the slots by index, one in recency order (for eviction) and one in the order entries
/// became dirty (for flushing). Every touch is O(1) and allocates nothing once the slot exists;
/// range queries, which are rare next to gets and puts, sort the matching keys on demand.
///
/// All state lives in one struct that each operation mutates in a single access, and that
/// access is not checked at run time (a class's stored `var` costs an exclusivity check and an
/// entry in the thread's access set per access). That is sound because the cache is used by
/// the one thread that runs its task and no access outlives the operation that makes it: every
/// operation on the state returns before anything outside this file runs (the flush handler is
/// called after the dirty entries have been taken out), so no two accesses overlap.
final class NamedCache {
    @exclusivity(unchecked) private var state = NamedCacheStorage()
    /// Set by the owner before the first write (a store creates its cache before it knows how
    /// it will flush); called only from ``flush()``.
    var flushHandler: RecordCache.FlushHandler

    init(flushHandler: @escaping RecordCache.FlushHandler = { _ in }) {
        self.flushHandler = flushHandler
    }

    var isEmpty: Bool { state.count == 0 }
    var count: Int { state.count }
    var hasDirtyEntries: Bool { state.dirtyCount > 0 }
    var bytes: Int { state.bytes }

    func get(_ key: ByteBuffer) -> ByteBuffer?? {
        state.get(key)
    }

    /// ``get(_:)`` for a value of two big-endian `Int64`s (a timestamped `Int64`), read where the
    /// entry keeps it: no copy of the entry's buffer is handed out.
    func getInt64Pair(_ key: ByteBuffer) -> CachedInt64Pair {
        state.getInt64Pair(key)
    }

    /// Returns the change in bytes.
    func put(key: ByteBuffer, value: ByteBuffer?, context: RecordContext) -> Int {
        state.put(key: key, value: value, context: context)
    }

    /// See ``RecordCache/putInt64Pair(into:key:_:_:context:)``; the change in bytes, or `nil`.
    func putInt64Pair(key: ByteBuffer, _ first: Int64, _ second: Int64, context: RecordContext) -> Int? {
        state.putInt64Pair(key: key, first, second, context: context)
    }

    /// Evicts the least recently used entry, flushing all dirty entries first if it is dirty.
    /// Returns the change in bytes.
    func evictLeastRecentlyUsed() throws -> Int {
        guard let (key, isDirty) = state.leastRecentlyUsed() else { return 0 }
        var delta = 0
        if isDirty { delta += try flush() }
        delta += state.remove(key)
        return delta
    }

    /// Hands every dirty entry to the flush handler in the order they became dirty, marks them
    /// clean and drops clean deletes. Returns the change in bytes.
    func flush() throws -> Int {
        guard state.dirtyCount > 0 else { return 0 }
        // Entries are clean before the handler runs: it may write to other caches, which may
        // evict from this one, and must not see these entries as dirty again.
        let (batch, delta) = state.takeDirty()
        try flushHandler(batch)
        return delta
    }

    /// Drops every entry, dirty ones included (flush first); returns the change in bytes.
    func removeAll() -> Int {
        let delta = -state.bytes
        state = NamedCacheStorage()
        return delta
    }

    func range(from: ByteBuffer?, to: ByteBuffer?) -> [(key: ByteBuffer, value: ByteBuffer?)] {
        state.range(from: from, to: to)
    }
}

/// The state of a ``NamedCache``; see there.
private struct NamedCacheStorage {
    private static let none = -1

    struct Slot {
        /// First, so that checking a candidate of a lookup reads one cache line.
        var digest: KeyDigest
        var key: ByteBuffer
        var value: ByteBuffer?
        var context: RecordContext
        var isDirty: Bool
        /// Neighbours in recency order (older, newer) and in dirty order (previous, next).
        var older: Int
        var newer: Int
        var dirtyPrevious: Int
        var dirtyNext: Int

        var size: Int { (value?.readableBytes ?? 0) + RecordCache.entryOverhead }
    }

    /// The index from key to slot: open addressing with linear probing over a power-of-two
    /// table, probed by ``KeyDigest``, which costs far less per lookup than a `Dictionary`
    /// hashing `ByteBuffer`s with SipHash. A bucket holds a slot number in its low 32 bits and
    /// the high half of the key's hash above them (``emptyBucket`` when empty), so that a probe
    /// looks at a slot only when the hashes agree. Deletes shift the following entries back,
    /// so no tombstones build up.
    private var buckets: [UInt64] = []
    private static let emptyBucket = UInt64.max
    private(set) var count = 0
    private let seed = UInt64.random(in: .min ... .max)
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    /// Least and most recently used.
    private var oldest = none
    private var newest = none
    /// First and last to become dirty.
    private var firstDirty = none
    private var lastDirty = none
    private(set) var dirtyCount = 0
    private(set) var bytes = 0
    /// The slot of the last key ``get(_:)`` found, `none` once that slot is released. An
    /// aggregation reads a key and then writes it: the write finds the slot here by comparing
    /// the key's bytes instead of hashing them a second time.
    private var lastFound = none

    mutating func get(_ key: ByteBuffer) -> ByteBuffer?? {
        guard let slot = find(key, KeyDigest(key, seed: seed)) else { return nil }
        touch(slot)
        lastFound = slot
        return .some(slots[slot].value)
    }

    /// ``get(_:)`` reading the value in place as two big-endian `Int64`s. Counts as a use of the
    /// entry exactly as ``get(_:)`` does (recency, the slot remembered for the write after).
    mutating func getInt64Pair(_ key: ByteBuffer) -> CachedInt64Pair {
        guard let slot = find(key, KeyDigest(key, seed: seed)) else { return .miss }
        touch(slot)
        lastFound = slot
        guard slots[slot].value != nil else { return .deleted }
        return slots[slot].value.unsafelyUnwrapped.withUnsafeReadableBytes { bytes in
            guard bytes.count == 16 else { return .otherSize }
            return .found(
                Int64(bigEndian: bytes.loadUnaligned(as: Int64.self)),
                Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self))
            )
        }
    }

    /// The slot holding `key`, if cached, and the key's digest.
    private func slot(of key: ByteBuffer) -> (slot: Int?, digest: KeyDigest) {
        let digest = KeyDigest(key, seed: seed)
        if lastFound != Self.none, matches(lastFound, key, digest) { return (lastFound, digest) }
        return (find(key, digest), digest)
    }

    @inline(__always)
    private func matches(_ slot: Int, _ key: ByteBuffer, _ digest: KeyDigest) -> Bool {
        slots[slot].digest == digest && (digest.isComplete || KeyDigest.equalBytes(slots[slot].key, key))
    }

    @inline(__always)
    private static func bucketEntry(_ slot: Int, _ hash: UInt64) -> UInt64 {
        (hash & 0xFFFF_FFFF_0000_0000) | UInt64(truncatingIfNeeded: UInt32(truncatingIfNeeded: slot))
    }

    @inline(__always)
    private static func slotOf(_ entry: UInt64) -> Int {
        Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: entry))
    }

    /// The slot holding `key`, whose digest is `digest`, if cached.
    private func find(_ key: ByteBuffer, _ digest: KeyDigest) -> Int? {
        guard count > 0 else { return nil }
        let mask = buckets.count - 1
        let tag = digest.hash & 0xFFFF_FFFF_0000_0000
        var bucket = Int(truncatingIfNeeded: digest.hash) & mask
        while true {
            let entry = buckets[bucket]
            if entry == Self.emptyBucket { return nil }
            if entry & 0xFFFF_FFFF_0000_0000 == tag, matches(Self.slotOf(entry), key, digest) { return Self.slotOf(entry) }
            bucket = (bucket + 1) & mask
        }
    }

    /// Adds a slot (whose key is not indexed yet) to the index, growing it past 3/4 full.
    private mutating func insertIntoIndex(_ slot: Int) {
        if (count + 1) * 4 > buckets.count * 3 {
            let old = buckets
            buckets = Array(repeating: Self.emptyBucket, count: Swift.max(16, old.count * 2))
            for entry in old where entry != Self.emptyBucket { place(Self.slotOf(entry)) }
        }
        place(slot)
        count += 1
    }

    private mutating func place(_ slot: Int) {
        let hash = slots[slot].digest.hash
        let mask = buckets.count - 1
        var bucket = Int(truncatingIfNeeded: hash) & mask
        while buckets[bucket] != Self.emptyBucket { bucket = (bucket + 1) & mask }
        buckets[bucket] = Self.bucketEntry(slot, hash)
    }

    /// Takes an indexed slot out of the index, shifting back the entries probed past it.
    private mutating func removeFromIndex(_ slot: Int) {
        let mask = buckets.count - 1
        let entry = Self.bucketEntry(slot, slots[slot].digest.hash)
        var hole = Int(truncatingIfNeeded: slots[slot].digest.hash) & mask
        while buckets[hole] != entry { hole = (hole + 1) & mask }
        var next = (hole + 1) & mask
        while buckets[next] != Self.emptyBucket {
            let moving = buckets[next]
            let home = Int(truncatingIfNeeded: slots[Self.slotOf(moving)].digest.hash) & mask
            // `moving` may fill the hole unless its home lies after the hole (cyclically).
            if (next &- home) & mask >= (next &- hole) & mask {
                buckets[hole] = moving
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = Self.emptyBucket
        count -= 1
    }

    mutating func put(key: ByteBuffer, value: ByteBuffer?, context: RecordContext) -> Int {
        let (found, digest) = slot(of: key)
        if let slot = found {
            var delta = -slots[slot].size
            if slots[slot].isDirty {
                unlinkDirty(slot)
                dirtyCount -= 1
            }
            if let value, Self.overwrite(&slots[slot].value, with: value) {
                // Same length (an aggregate's next value, usually): the bytes copied over the
                // entry's own, in one pass, no allocation while nothing else holds the entry's buffer.
            } else if let value, let current = slots[slot].value?.capacity,
               value.readableBytes <= current, current <= value.readableBytes &+ 64 {
                // The new bytes into the entry's own buffer when they fit it (and it is not
                // much larger, as `compacted()` keeps entries): no allocation when nothing else
                // holds the buffer, and a caller's scratch buffer (a typed store's) stays the
                // caller's. `clear()` gives the entry fresh storage when something holds it.
                slots[slot].value!.clear()
                slots[slot].value!.writeImmutableBuffer(value)
            } else {
                slots[slot].value = value?.compacted()
            }
            markWritten(slot, context: context)
            delta += slots[slot].size
            bytes += delta
            return delta
        }
        let value = value?.compacted()
        let key = key.compacted()
        let fresh = Slot(
            digest: digest, key: key, value: value, context: context, isDirty: true,
            older: Self.none, newer: Self.none, dirtyPrevious: Self.none, dirtyNext: Self.none
        )
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[slot] = fresh
        } else {
            slot = slots.count
            slots.append(fresh)
        }
        insertIntoIndex(slot)
        appendRecent(slot)
        appendDirty(slot)
        dirtyCount += 1
        let delta = fresh.size + key.readableBytes
        bytes += delta
        return delta
    }

    /// ``put(key:value:context:)`` of two big-endian `Int64`s when the key's entry holds sixteen
    /// bytes: written straight into the entry's buffer (copied first if something else holds it).
    /// `nil`, nothing done, when the key has no such entry.
    mutating func putInt64Pair(key: ByteBuffer, _ first: Int64, _ second: Int64, context: RecordContext) -> Int? {
        guard let slot = slot(of: key).slot, slots[slot].value?.readableBytes == 16 else { return nil }
        if slots[slot].isDirty {
            unlinkDirty(slot)
            dirtyCount -= 1
        }
        slots[slot].value!.withUnsafeMutableReadableBytes { target in
            target.storeBytes(of: first.bigEndian, as: Int64.self)
            target.storeBytes(of: second.bigEndian, toByteOffset: 8, as: Int64.self)
        }
        markWritten(slot, context: context)
        return 0  // the same size
    }

    /// The bookkeeping of a write to a cached entry (already out of the dirty list) whose value
    /// has been updated: its context, dirty again (last in the flush order), most recently used.
    private mutating func markWritten(_ slot: Int, context: RecordContext) {
        slots[slot].context = context
        slots[slot].isDirty = true
        appendDirty(slot)
        dirtyCount += 1
        touch(slot)
    }

    /// Copies `value` over `entry` when both hold as many bytes; `false` (nothing done) otherwise.
    /// A buffer shared with someone else (a flushed entry still held) is copied first, as for any
    /// write to a `ByteBuffer`.
    @inline(__always)
    private static func overwrite(_ entry: inout ByteBuffer?, with value: ByteBuffer) -> Bool {
        guard entry != nil, entry.unsafelyUnwrapped.readableBytes == value.readableBytes else { return false }
        entry!.withUnsafeMutableReadableBytes { target in
            value.withUnsafeReadableBytes { source in target.copyMemory(from: source) }
        }
        return true
    }

    /// The least recently used key and whether it is dirty.
    func leastRecentlyUsed() -> (key: ByteBuffer, isDirty: Bool)? {
        guard oldest != Self.none else { return nil }
        return (slots[oldest].key, slots[oldest].isDirty)
    }

    /// Drops `key` if cached; returns the change in bytes.
    mutating func remove(_ key: ByteBuffer) -> Int {
        guard let slot = find(key, KeyDigest(key, seed: seed)) else { return 0 }
        removeFromIndex(slot)
        return -release(slot)
    }

    /// The dirty entries in the order they became dirty, now clean (deletes dropped), and the
    /// change in bytes.
    mutating func takeDirty() -> ([RecordCache.DirtyEntry], Int) {
        var batch: [RecordCache.DirtyEntry] = []
        batch.reserveCapacity(dirtyCount)
        var delta = 0
        var slot = firstDirty
        while slot != Self.none {
            let next = slots[slot].dirtyNext
            batch.append(RecordCache.DirtyEntry(key: slots[slot].key, value: slots[slot].value, context: slots[slot].context))
            slots[slot].isDirty = false
            slots[slot].dirtyPrevious = Self.none
            slots[slot].dirtyNext = Self.none
            if slots[slot].value == nil {
                // A delete that reached the store below has nothing left to cache.
                removeFromIndex(slot)
                delta -= release(slot)
            }
            slot = next
        }
        firstDirty = Self.none
        lastDirty = Self.none
        dirtyCount = 0
        return (batch, delta)
    }

    func range(from: ByteBuffer?, to: ByteBuffer?) -> [(key: ByteBuffer, value: ByteBuffer?)] {
        var result: [(key: ByteBuffer, value: ByteBuffer?)] = []
        for entry in buckets where entry != Self.emptyBucket {
            let slot = Self.slotOf(entry)
            let key = slots[slot].key
            if let from, ByteOrder.compare(key, from) < 0 { continue }
            if let to, ByteOrder.compare(key, to) > 0 { continue }
            result.append((key, slots[slot].value))
        }
        result.sort { ByteOrder.compare($0.key, $1.key) < 0 }
        return result
    }

    /// Unlinks a slot already removed from the index and frees it; returns the bytes it held.
    private mutating func release(_ slot: Int) -> Int {
        if slot == lastFound { lastFound = Self.none }
        let size = slots[slot].size + slots[slot].key.readableBytes
        unlinkRecent(slot)
        if slots[slot].isDirty {
            unlinkDirty(slot)
            dirtyCount -= 1
        }
        // Let go of the key, value and headers now rather than when the slot is reused.
        slots[slot].key = ByteBuffer()
        slots[slot].value = nil
        slots[slot].context = .punctuation(at: -1)
        slots[slot].isDirty = false
        freeSlots.append(slot)
        bytes -= size
        return size
    }

    private mutating func touch(_ slot: Int) {
        guard newest != slot else { return }
        unlinkRecent(slot)
        appendRecent(slot)
    }

    private mutating func appendRecent(_ slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = Self.none
        if newest != Self.none { slots[newest].newer = slot } else { oldest = slot }
        newest = slot
    }

    private mutating func unlinkRecent(_ slot: Int) {
        let older = slots[slot].older
        let newer = slots[slot].newer
        if older != Self.none { slots[older].newer = newer } else { oldest = newer }
        if newer != Self.none { slots[newer].older = older } else { newest = older }
        slots[slot].older = Self.none
        slots[slot].newer = Self.none
    }

    private mutating func appendDirty(_ slot: Int) {
        slots[slot].dirtyPrevious = lastDirty
        slots[slot].dirtyNext = Self.none
        if lastDirty != Self.none { slots[lastDirty].dirtyNext = slot } else { firstDirty = slot }
        lastDirty = slot
    }

    private mutating func unlinkDirty(_ slot: Int) {
        let previous = slots[slot].dirtyPrevious
        let next = slots[slot].dirtyNext
        if previous != Self.none { slots[previous].dirtyNext = next } else { firstDirty = next }
        if next != Self.none { slots[next].dirtyPrevious = previous } else { lastDirty = previous }
        slots[slot].dirtyPrevious = Self.none
        slots[slot].dirtyNext = Self.none
    }
}

/// What the cache holds for a key whose value should be two big-endian `Int64`s.
@usableFromInline
enum CachedInt64Pair {
    /// Not cached: the store below has the answer.
    case miss
    /// Cached as deleted.
    case deleted
    /// Cached with the two numbers.
    case found(Int64, Int64)
    /// Cached with a value of another length (which only the value's serde can judge).
    case otherSize
}

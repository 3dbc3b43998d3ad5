import NIOCore

/// A key-value store of typed keys and values over the byte-level layers (the role of Kafka's
/// metered store): what processors and the test driver use. Keys and values go through their
/// serdes here and nowhere else.
///
/// A timestamped store (what DSL tables use) keeps each value with the timestamp of the record
/// that wrote it, in the ``TimestampedBytes`` layout.
///
/// The methods an aggregation calls per record are `@inlinable`, so that they are compiled
/// specialised for the key and value types in the module that builds the topology: in generic
/// code every use of a generic type costs a type-metadata lookup.
public final class TypedKeyValueStore<Key, Value>: StateStore {
    /// The byte-level store below (a cache, a change logger, or the store itself).
    public let bytes: any KeyValueStore
    /// `bytes` when it is a cache, for the per-record paths to call directly rather than
    /// through the existential.
    @usableFromInline let caching: CachingKeyValueStore?
    public let keySerde: Serde<Key>
    public let valueSerde: Serde<Value>
    public let isTimestamped: Bool
    @usableFromInline var recordContextHolder: (any RecordContextHolder)?
    // The scratch buffers are written per record by the one thread that runs the store's task,
    // each in one access that nothing else can overlap (only ``lookupKey(_:)`` and ``encode(_:timestamp:)``
    // touch them, and the serde they call cannot reach them): the run-time exclusivity check,
    // which would span the call to the serde, is left out.
    /// Reused for the keys of lookups, which the store below does not keep.
    @exclusivity(unchecked) @usableFromInline var keyScratch = ByteBuffer()
    /// Reused for the timestamped values of writes. A layer below that keeps a value (a new
    /// cache entry, a pending changelog record) shares its storage, and the next write starts
    /// the scratch on storage of its own; a cache updating an entry copies the bytes into the
    /// entry's buffer instead, so an aggregation's write allocates nothing. Sized for small
    /// values: a buffer that starts empty is reallocated on its first write.
    @exclusivity(unchecked) @usableFromInline var valueScratch = ByteBufferAllocator().buffer(capacity: 32)
    /// The serdes' functions for the per-record paths (see ``Serde/serializer``).
    @usableFromInline let writeKey: Serde<Key>.Writer
    @usableFromInline let writeValue: Serde<Value>.Writer
    @usableFromInline let serializeValue: @Sendable (Value) throws -> ByteBuffer?
    @usableFromInline let deserializeValue: @Sendable (ByteBuffer?) throws -> Value
    /// Whether values are timestamped `Int64`s in ``Serde/int64``'s format: an aggregation's
    /// read and write then handle the sixteen bytes themselves (the serde's closures would
    /// produce and accept exactly the same bytes), reading a cached value in place.
    @usableFromInline let valuesAreTimestampedInt64: Bool

    public init(bytes: any KeyValueStore, keySerde: Serde<Key>, valueSerde: Serde<Value>, timestamped: Bool) {
        self.bytes = bytes
        self.caching = bytes as? CachingKeyValueStore
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.writeKey = keySerde.writer
        self.writeValue = valueSerde.writer
        self.serializeValue = valueSerde.serializer
        self.deserializeValue = valueSerde.deserializer
        self.isTimestamped = timestamped
        self.valuesAreTimestampedInt64 = timestamped && valueSerde.format == .bigEndianInt64 && Value.self == Int64.self
    }

    public var name: String { bytes.name }
    public var persistent: Bool { bytes.persistent }
    public var isOpen: Bool { bytes.isOpen }

    public func initialize(context: StateStoreContext) throws {
        try bytes.initialize(context: context)
        recordContextHolder = context.recordContextHolder
    }

    public func flush() throws { try bytes.flush() }
    public func close() throws { try bytes.close() }

    public func get(_ key: Key) throws -> Value? {
        try getWithTimestamp(key)?.value
    }

    /// The value with the timestamp of the record that wrote it (-1 for a store without timestamps).
    public func getWithTimestamp(_ key: Key) throws -> ValueAndTimestamp<Value>? {
        guard let raw = try bytes.get(lookupKey(key)) else { return nil }
        return try decode(raw)
    }

    /// `key` in bytes, for a read and a write of the same key (an aggregation's) to share one
    /// serialization through ``get(keyBytes:timestamp:)`` and ``put(keyBytes:_:timestamp:)``.
    @inlinable
    func keyBytes(_ key: Key) throws -> ByteBuffer {
        try lookupKey(key)
    }

    /// The value stored under `keyBytes` (`nil` when absent), its timestamp written to
    /// `timestamp` (-1 for a store without timestamps; untouched when absent). An aggregation's
    /// read: it builds no ``ValueAndTimestamp``, because in code not specialised for the value
    /// type every generic type used costs a type-metadata lookup per call.
    @inlinable
    func get(keyBytes: ByteBuffer, timestamp: inout Int64) throws -> Value? {
        let found: ByteBuffer?
        if valuesAreTimestampedInt64, let caching {
            switch caching.getInt64Pair(keyBytes) {
            case .found(let stamp, let value):
                timestamp = stamp
                return unsafeBitCast(value, to: Value.self)
            case .deleted:
                return nil
            case .miss, .otherSize:
                // Below the cache, or bytes the serde must judge (and reject with its error).
                found = try caching.get(keyBytes)
            }
        } else if let caching {
            found = try caching.get(keyBytes)
        } else {
            found = try bytes.get(keyBytes)
        }
        guard let raw = found else { return nil }
        guard isTimestamped else {
            timestamp = -1
            return try deserializeValue(raw)
        }
        guard let (value, stamp) = TimestampedBytes.unpack(raw) else { throw invalidTimestampedBytes(raw) }
        timestamp = stamp
        return try deserializeValue(value)
    }

    @inlinable
    func put(keyBytes: ByteBuffer, _ value: Value?, timestamp: Int64?) throws {
        if valuesAreTimestampedInt64, let value, let caching {
            let stamp = timestamp ?? recordContextHolder?.recordContext.timestamp ?? -1
            if try caching.putInt64Pair(keyBytes, stamp, unsafeBitCast(value, to: Int64.self)) { return }
        }
        let encoded = try encode(value, timestamp: timestamp)
        if let caching {
            try caching.put(keyBytes, encoded)
        } else {
            try bytes.put(keyBytes, encoded)
        }
    }

    /// Writes `value` (`nil` deletes), stamped with `timestamp` or else with the timestamp of the
    /// record being processed.
    public func put(_ key: Key, _ value: Value?, timestamp: Int64? = nil) throws {
        // The scratch key: a layer below that keeps it (a new cache entry, a pending changelog
        // record) shares its storage, and the next write to the scratch copies first.
        try bytes.put(lookupKey(key), encode(value, timestamp: timestamp))
    }

    /// Writes only when the key is absent; returns the value that was there.
    @discardableResult
    public func putIfAbsent(_ key: Key, _ value: Value, timestamp: Int64? = nil) throws -> Value? {
        let previous = try bytes.putIfAbsent(storedKey(key), encode(value, timestamp: timestamp))
        return try previous.map { try decode($0).value }
    }

    public func putAll(_ entries: [KeyValue<Key, Value?>], timestamp: Int64? = nil) throws {
        try bytes.putAll(entries.map { KeyValue(try storedKey($0.key), try encode($0.value, timestamp: timestamp)) })
    }

    /// Deletes the key; returns the value it had.
    @discardableResult
    public func delete(_ key: Key) throws -> Value? {
        try bytes.delete(storedKey(key)).map { try decode($0).value }
    }

    /// Entries with `from <= key <= to` in the order of their key bytes; `nil` bounds are open.
    public func range(from: Key? = nil, to: Key? = nil) throws -> TypedKeyValueIterator<Key, Value> {
        let lower = try from.map { try storedKey($0) }
        let upper = try to.map { try storedKey($0) }
        return TypedKeyValueIterator(inner: try bytes.range(from: lower, to: upper), store: self)
    }

    public func all() throws -> TypedKeyValueIterator<Key, Value> {
        TypedKeyValueIterator(inner: try bytes.all(), store: self)
    }

    /// Entries whose key bytes start with the bytes of `prefix` in `prefixSerde`.
    public func prefixScan<Prefix>(_ prefix: Prefix, prefixSerde: Serde<Prefix>) throws -> TypedKeyValueIterator<Key, Value> {
        guard let prefixBytes = try prefixSerde.serialize(prefix) else { throw StateStoreError.nullKey(store: name) }
        return TypedKeyValueIterator(inner: try bytes.prefixScan(prefixBytes), store: self)
    }

    public func approximateNumEntries() throws -> Int { try bytes.approximateNumEntries() }

    /// When a cache sits below, reports every entry it writes down as a typed table update
    /// (new and old value, stamped with the new value's timestamp) and returns `true`; returns
    /// `false` when nothing caches, and the caller forwards its own updates.
    func setTableFlushListener(_ forward: @escaping (StreamRecord<Key, Change<Value>>) throws -> Void) -> Bool {
        guard let caching = bytes as? CachingKeyValueStore else { return false }
        return caching.setFlushListener { [unowned self] key, newBytes, oldBytes, context in
            let newValue = try newBytes.map { try self.decode($0) }
            let oldValue = try oldBytes.map { try self.decode($0) }
            let timestamp = (self.isTimestamped ? newValue?.timestamp : nil) ?? context.timestamp
            let record = StreamRecord(
                key: try self.keySerde.deserialize(key),
                value: Change(newValue: newValue?.value, oldValue: oldValue?.value),
                timestamp: timestamp,
                headers: context.headers
            )
            try forward(record)
        }
    }

    // MARK: Bytes

    /// The key in bytes, in a scratch buffer reused from call to call: no allocation when the
    /// store below does not keep it, and copy-on-write when it does.
    @inlinable
    func lookupKey(_ key: Key) throws -> ByteBuffer {
        keyScratch.clear()
        guard try writeKey(key, &keyScratch) else { throw nullKey() }
        return keyScratch
    }

    @usableFromInline
    func nullKey() -> StateStoreError {
        StateStoreError.nullKey(store: name)
    }

    /// The key in bytes of its own, for a write.
    private func storedKey(_ key: Key) throws -> ByteBuffer {
        guard let bytes = try keySerde.serialize(key) else { throw StateStoreError.nullKey(store: name) }
        return bytes
    }

    @inlinable
    func encode(_ value: Value?, timestamp: Int64?) throws -> ByteBuffer? {
        guard let value else { return nil }
        guard isTimestamped else { return try serializeValue(value) }
        // The timestamp first, then the value straight after it: one buffer, no copy.
        // `clear()` gives the scratch fresh storage of the same size when a layer below kept
        // the previous value; after a large value the scratch starts small again, so that a
        // layer keeping values does not get large buffers for small ones.
        let stamp = timestamp ?? recordContextHolder?.recordContext.timestamp ?? -1
        if valueScratch.capacity > 256 {
            valueScratch = ByteBufferAllocator().buffer(capacity: 32)
        } else {
            valueScratch.clear()
        }
        if valuesAreTimestampedInt64 {
            // Both numbers in one write, the bytes ``Serde/int64`` would append after the stamp.
            let number = unsafeBitCast(value, to: Int64.self)
            valueScratch.writeWithUnsafeMutableBytes(minimumWritableBytes: 16) { bytes in
                bytes.storeBytes(of: stamp.bigEndian, as: Int64.self)
                bytes.storeBytes(of: number.bigEndian, toByteOffset: 8, as: Int64.self)
                return 16
            }
            return valueScratch
        }
        valueScratch.writeInteger(stamp, endianness: .big)
        return try writeValue(value, &valueScratch) ? valueScratch : nil
    }

    func decode(_ raw: ByteBuffer) throws -> ValueAndTimestamp<Value> {
        guard isTimestamped else { return ValueAndTimestamp(try deserializeValue(raw), timestamp: -1) }
        guard let (value, timestamp) = TimestampedBytes.unpack(raw) else { throw invalidTimestampedBytes(raw) }
        return ValueAndTimestamp(try deserializeValue(value), timestamp: timestamp)
    }

    @usableFromInline
    func invalidTimestampedBytes(_ raw: ByteBuffer) -> SerdeError {
        SerdeError.invalidEncoding(type: "timestamped value of store \(name)", reason: "\(raw.readableBytes) bytes")
    }
}

/// Typed entries of a store in key order. Iterating stops at the first entry that fails to
/// deserialize, leaving the error in ``failure``; ``readAll()`` throws it instead.
public final class TypedKeyValueIterator<Key, Value>: IteratorProtocol, Sequence {
    private let inner: any KeyValueIterator
    private let store: TypedKeyValueStore<Key, Value>
    /// Why iteration stopped early, if it did.
    public private(set) var failure: (any Error)?

    init(inner: any KeyValueIterator, store: TypedKeyValueStore<Key, Value>) {
        self.inner = inner
        self.store = store
    }

    deinit {
        inner.close()
    }

    public func next() -> KeyValue<Key, Value>? {
        guard failure == nil else { return nil }
        do {
            return try nextEntry()
        } catch {
            failure = error
            inner.close()
            return nil
        }
    }

    /// The next entry, throwing when it cannot be deserialized.
    public func nextEntry() throws -> KeyValue<Key, Value>? {
        guard let entry = inner.next() else { return nil }
        return KeyValue(try store.keySerde.deserialize(entry.key), try store.decode(entry.value).value)
    }

    /// Every remaining entry; closes the iterator.
    public func readAll() throws -> [KeyValue<Key, Value>] {
        defer { inner.close() }
        var result: [KeyValue<Key, Value>] = []
        while let entry = try nextEntry() { result.append(entry) }
        return result
    }

    public func close() { inner.close() }
}

import NIOCore
@testable import Rivulet
import Testing

@Suite struct CachingStoreTests {
    /// A caching layer over an in-memory store, with a listener recording what gets written down.
    final class Fixture {
        let inner = InMemoryKeyValueStore(name: "cached")
        let store: CachingKeyValueStore
        let cache: RecordCache
        let holder = SimpleRecordContextHolder()
        var flushed: [String] = []

        init(cacheBytes: Int) throws {
            cache = RecordCache(maxBytes: cacheBytes)
            store = CachingKeyValueStore(wrapping: inner)
            let context = StateStoreContext(
                applicationId: "app", taskId: TaskId(subtopology: 0, partition: 0), taskDirectory: "/nonexistent",
                changelogSink: nil, recordCache: cache, recordContextHolder: holder
            )
            try store.initialize(context: context)
            store.setFlushListener { [unowned self] key, new, old, context in
                self.flushed.append("\(String(buffer: key)):\(text(new) ?? "null")<-\(text(old) ?? "null")@\(context.timestamp)")
            }
        }

        func put(_ key: String, _ value: String?, at timestamp: Int64) throws {
            holder.recordContext = RecordContext(metadata: nil, timestamp: timestamp)
            try store.put(buffer(key), value.map(buffer))
        }
    }

    @Test func repeatedUpdatesFoldUntilFlush() throws {
        let fixture = try Fixture(cacheBytes: 1 << 20)
        #expect(fixture.store.isCaching)
        try fixture.put("a", "1", at: 1)
        try fixture.put("b", "1", at: 2)
        try fixture.put("a", "2", at: 3)
        try fixture.put("a", "3", at: 4)
        // Reads see the cache; the store below has nothing yet.
        #expect(text(try fixture.store.get(buffer("a"))) == "3")
        #expect(try fixture.inner.get(buffer("a")) == nil)
        #expect(fixture.flushed.isEmpty)
        try fixture.store.flush()
        // One write per key, in the order of each key's last update, with that update's context.
        #expect(fixture.flushed == ["b:1<-null@2", "a:3<-null@4"])
        #expect(text(try fixture.inner.get(buffer("a"))) == "3")
        try fixture.put("a", "4", at: 5)
        try fixture.put("b", nil, at: 6)
        try fixture.store.flush()
        #expect(fixture.flushed.suffix(2) == ["a:4<-3@5", "b:null<-1@6"])
        #expect(try fixture.inner.get(buffer("b")) == nil)
        #expect(try fixture.store.get(buffer("b")) == nil)
    }

    @Test func zeroSizedCacheWritesThrough() throws {
        let fixture = try Fixture(cacheBytes: 0)
        #expect(!fixture.store.isCaching)
        try fixture.put("a", "1", at: 1)
        #expect(text(try fixture.inner.get(buffer("a"))) == "1")
        // Without caching there is no listener: the store's owner forwards for itself.
        #expect(fixture.flushed.isEmpty)
    }

    @Test func evictionFlushesAllDirtyEntriesInOrder() throws {
        // Each entry costs its key and value bytes plus 64 of overhead: 66 bytes here, so a
        // 200-byte cache holds three entries and the fourth evicts the least recently used.
        let fixture = try Fixture(cacheBytes: 200)
        try fixture.put("a", "1", at: 1)
        try fixture.put("b", "1", at: 2)
        try fixture.put("c", "1", at: 3)
        #expect(fixture.flushed.isEmpty)
        _ = try fixture.store.get(buffer("a"))  // "a" is now more recent than "b"
        try fixture.put("d", "1", at: 4)
        // Evicting dirty "b" first flushed every dirty entry, in dirty order.
        #expect(fixture.flushed == ["a:1<-null@1", "b:1<-null@2", "c:1<-null@3", "d:1<-null@4"])
        #expect(fixture.cache.currentBytes <= 200)
        #expect(fixture.cache.count(namespace: "0_0-cached") == 3)
        #expect(text(try fixture.store.get(buffer("b"))) == "1")
    }

    @Test func evictionDropsTheLeastRecentlyUsedEntry() throws {
        let fixture = try Fixture(cacheBytes: 200)
        try fixture.put("a", "1", at: 1)
        try fixture.put("b", "1", at: 2)
        try fixture.put("c", "1", at: 3)
        try fixture.store.flush()
        _ = try fixture.store.get(buffer("a"))
        try fixture.put("c", "2", at: 4)
        // Recency now runs b, a, c: "d" pushes out "b" alone, and a clean entry flushes nothing.
        try fixture.put("d", "1", at: 5)
        #expect(fixture.flushed == ["a:1<-null@1", "b:1<-null@2", "c:1<-null@3"])
        #expect(fixture.cache.get(namespace: "0_0-cached", key: buffer("b")) == nil)
        #expect(fixture.cache.get(namespace: "0_0-cached", key: buffer("a")) != nil)
        #expect(text(try fixture.store.get(buffer("c"))) == "2")
        #expect(fixture.cache.count(namespace: "0_0-cached") == 3)
        try fixture.store.flush()
        #expect(fixture.flushed.suffix(2) == ["c:2<-1@4", "d:1<-null@5"])
    }

    /// A write right after a read of the same key (an aggregation's) finds the entry the read
    /// found without hashing the key again; an entry freed in between must not be found that way,
    /// even by a key whose bytes match what the freed slot holds (the empty key).
    @Test func writeAfterReadFindsOnlyALiveEntry() throws {
        let fixture = try Fixture(cacheBytes: 1 << 20)
        try fixture.put("a", nil, at: 1)
        try fixture.put("b", "1", at: 2)
        #expect(text(try fixture.store.get(buffer("b"))) == "1")
        try fixture.put("b", "2", at: 3)
        #expect(fixture.cache.count(namespace: "0_0-cached") == 2)
        #expect(try fixture.store.get(buffer("a")) == nil)  // a cached delete, found in the cache
        try fixture.store.flush()  // writes the delete down and frees its slot
        #expect(fixture.flushed == ["a:null<-null@1", "b:2<-null@3"])
        try fixture.put("", "empty", at: 4)
        try fixture.put("c", "1", at: 5)  // takes a freed slot
        #expect(fixture.cache.count(namespace: "0_0-cached") == 3)
        #expect(text(try fixture.store.get(buffer(""))) == "empty")
        #expect(text(try fixture.store.get(buffer("c"))) == "1")
        #expect(text(try fixture.store.get(buffer("b"))) == "2")
        try fixture.store.flush()
        #expect(fixture.flushed.suffix(2) == [":empty<-null@4", "c:1<-null@5"])
    }

    @Test func cachedRangesComeOutInKeyOrder() throws {
        let fixture = try Fixture(cacheBytes: 1 << 20)
        for key in ["m", "c", "x", "a", "q", "b"] { try fixture.put(key, key.uppercased(), at: 1) }
        try fixture.put("q", nil, at: 2)
        #expect(pairs(try fixture.store.all()) == ["a=A", "b=B", "c=C", "m=M", "x=X"])
        #expect(pairs(try fixture.store.range(from: buffer("b"), to: buffer("q"))) == ["b=B", "c=C", "m=M"])
        #expect(fixture.cache.range(namespace: "0_0-cached", from: buffer("b"), to: buffer("q")).map { String(buffer: $0.key) }
            == ["b", "c", "m", "q"])
    }

    @Test func rangeMergesCacheOverStore() throws {
        let fixture = try Fixture(cacheBytes: 1 << 20)
        try fixture.inner.put(buffer("a"), buffer("stored"))
        try fixture.inner.put(buffer("c"), buffer("stored"))
        try fixture.inner.put(buffer("e"), buffer("stored"))
        try fixture.put("b", "cached", at: 1)
        try fixture.put("c", "cached", at: 1)
        try fixture.put("e", nil, at: 1)
        try fixture.put("f", "cached", at: 1)
        #expect(pairs(try fixture.store.all()) == ["a=stored", "b=cached", "c=cached", "f=cached"])
        #expect(pairs(try fixture.store.range(from: buffer("b"), to: buffer("e"))) == ["b=cached", "c=cached"])
    }

    @Test func typedStoreDecodesFlushedUpdates() throws {
        let inner = InMemoryKeyValueStore(name: "typed")
        let caching = CachingKeyValueStore(wrapping: inner)
        let typed = TypedKeyValueStore(bytes: caching, keySerde: .string, valueSerde: .int64, timestamped: true)
        let holder = SimpleRecordContextHolder(RecordContext(metadata: nil, timestamp: 10))
        try typed.initialize(context: StateStoreContext(
            applicationId: "app", taskId: TaskId(subtopology: 1, partition: 2), taskDirectory: "/nonexistent",
            changelogSink: nil, recordCache: RecordCache(maxBytes: 1 << 20), recordContextHolder: holder
        ))
        var updates: [StreamRecord<String, Change<Int64>>] = []
        #expect(typed.setTableFlushListener { updates.append($0) })
        try typed.put("k", 1)
        try typed.put("k", 2, timestamp: 15)
        try typed.flush()
        #expect(updates == [StreamRecord(key: "k", value: Change(newValue: 2, oldValue: nil), timestamp: 15)])
        #expect(try typed.getWithTimestamp("k") == ValueAndTimestamp(2, timestamp: 15))
        // Below the cache, the value is the timestamp in 8 big-endian bytes, then the value's.
        #expect(Array(try #require(try inner.get(buffer("k"))).readableBytesView) == [0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 2])
    }

    /// A timestamped store of `.int64` values reads a cached value in place and writes both
    /// numbers itself (what `count()` does per record): the bytes must be the serde's, and a cached
    /// delete, a value only below the cache and a value of the wrong size must read as through
    /// the serde (the last one as the serde's typed error).
    @Test func timestampedInt64ValuesReadInPlaceAsThroughTheSerde() throws {
        let inner = InMemoryKeyValueStore(name: "counts")
        let caching = CachingKeyValueStore(wrapping: inner)
        let typed = TypedKeyValueStore(bytes: caching, keySerde: .string, valueSerde: .int64, timestamped: true)
        try typed.initialize(context: StateStoreContext(
            applicationId: "app", taskId: TaskId(subtopology: 0, partition: 0), taskDirectory: "/nonexistent",
            changelogSink: nil, recordCache: RecordCache(maxBytes: 1 << 20),
            recordContextHolder: SimpleRecordContextHolder(RecordContext(metadata: nil, timestamp: 7))
        ))
        #expect(typed.valuesAreTimestampedInt64)
        var stamp: Int64 = .min
        try typed.put(keyBytes: buffer("a"), -2, timestamp: 0x0102_0304_0506_0708)
        #expect(try typed.get(keyBytes: buffer("a"), timestamp: &stamp) == -2)
        #expect(stamp == 0x0102_0304_0506_0708)
        let cached = try #require(try caching.get(buffer("a")))
        var expected = ByteBuffer()
        expected.writeInteger(Int64(0x0102_0304_0506_0708))
        _ = try Serde<Int64>.int64.serialize(-2, into: &expected)
        #expect(cached == expected)
        try typed.put(keyBytes: buffer("a"), Int64.max, timestamp: nil)  // stamped with the record's time
        #expect(try typed.get(keyBytes: buffer("a"), timestamp: &stamp) == Int64.max)
        #expect(stamp == 7)
        #expect(try caching.get(buffer("a")) == TimestampedBytes.pack(try #require(try Serde<Int64>.int64.serialize(.max)), timestamp: 7))
        // Flushed, the entry's bytes are also the store's below: a write into the entry must not
        // change what the store holds.
        try typed.flush()
        try typed.put(keyBytes: buffer("a"), 3, timestamp: 8)
        #expect(try inner.get(buffer("a")) == TimestampedBytes.pack(try #require(try Serde<Int64>.int64.serialize(.max)), timestamp: 7))
        #expect(try typed.getWithTimestamp("a") == ValueAndTimestamp(3, timestamp: 8))
        try typed.flush()
        #expect(try inner.get(buffer("a")) == TimestampedBytes.pack(try #require(try Serde<Int64>.int64.serialize(3)), timestamp: 8))

        try typed.put(keyBytes: buffer("a"), nil, timestamp: nil)  // a cached delete
        stamp = 99
        #expect(try typed.get(keyBytes: buffer("a"), timestamp: &stamp) == nil)
        #expect(stamp == 99)
        #expect(try typed.get(keyBytes: buffer("absent"), timestamp: &stamp) == nil)

        try inner.put(buffer("below"), TimestampedBytes.pack(buffer([0, 0, 0, 0, 0, 0, 0, 5]), timestamp: 3))
        #expect(try typed.get(keyBytes: buffer("below"), timestamp: &stamp) == 5)
        #expect(stamp == 3)

        try caching.put(buffer("short"), TimestampedBytes.pack(buffer([1, 2, 3]), timestamp: 3))
        #expect(throws: SerdeError.wrongSize(type: "Int64", expected: 8, actual: 3)) {
            try typed.get(keyBytes: buffer("short"), timestamp: &stamp)
        }
        // Only the built-in serde's format is read in place, never a serde of the user's.
        let custom = TypedKeyValueStore(
            bytes: caching, keySerde: .string,
            valueSerde: Serde<Int64>(serialize: { v, b in b.writeInteger(v) }, deserialize: { _ in 42 }), timestamped: true
        )
        #expect(!custom.valuesAreTimestampedInt64)
    }
}

@Suite struct ChangeLoggingStoreTests {
    private func logged(format: ChangeLoggingKeyValueStore.ValueFormat) throws
        -> (ChangeLoggingKeyValueStore, RecordingChangelogSink, SimpleRecordContextHolder) {
        let sink = RecordingChangelogSink()
        let holder = SimpleRecordContextHolder(RecordContext(metadata: nil, timestamp: 100))
        let store = ChangeLoggingKeyValueStore(wrapping: InMemoryKeyValueStore(name: "logged"), format: format)
        try store.initialize(context: StateStoreContext(
            applicationId: "app", taskId: TaskId(subtopology: 0, partition: 0), taskDirectory: "/nonexistent",
            changelogSink: sink, recordCache: nil, recordContextHolder: holder
        ))
        return (store, sink, holder)
    }

    /// A typed store serializes every value into one scratch buffer, and the cache updates an
    /// entry by copying into the entry's buffer: no value written may change under a later write,
    /// whether it sits in the cache, was flushed below, or is held by a flush listener.
    @Test func typedWritesThroughOneScratchKeepEveryValue() throws {
        let inner = InMemoryKeyValueStore(name: "typed")
        let caching = CachingKeyValueStore(wrapping: inner)
        let typed = TypedKeyValueStore(bytes: caching, keySerde: .string, valueSerde: .string, timestamped: true)
        try typed.initialize(context: StateStoreContext(
            applicationId: "app", taskId: TaskId(subtopology: 0, partition: 0), taskDirectory: "/nonexistent",
            changelogSink: nil, recordCache: RecordCache(maxBytes: 1 << 20),
            recordContextHolder: SimpleRecordContextHolder(RecordContext(metadata: nil, timestamp: 1))
        ))
        var flushed: [ByteBuffer?] = []
        #expect(caching.setFlushListener { _, new, _, _ in flushed.append(new) })
        try typed.put("a", "one", timestamp: 1)
        try typed.put("b", "two", timestamp: 2)
        try typed.put("a", "three", timestamp: 3)  // an update of a cached entry
        #expect(try typed.get("a") == "three")
        #expect(try typed.get("b") == "two")
        try typed.flush()
        try typed.put("a", "four", timestamp: 4)  // its entry's buffer is now also the store's below
        try typed.put("b", String(repeating: "x", count: 300), timestamp: 5)  // larger than the entry
        #expect(try typed.get("a") == "four")
        #expect(try typed.get("b") == String(repeating: "x", count: 300))
        let storedA = try #require(try inner.get(buffer("a")))
        let storedB = try #require(try inner.get(buffer("b")))
        #expect(TimestampedBytes.unpack(storedA)?.value == buffer("three"))
        #expect(TimestampedBytes.unpack(storedB)?.value == buffer("two"))
        #expect(flushed.map { $0.flatMap(TimestampedBytes.unpack)?.value } == [buffer("two"), buffer("three")])
        try typed.flush()
        #expect(flushed.map { $0.flatMap(TimestampedBytes.unpack)?.value }
            == [buffer("two"), buffer("three"), buffer("four"), buffer(String(repeating: "x", count: 300))])
        let flushedA = try #require(try inner.get(buffer("a")))
        #expect(TimestampedBytes.unpack(flushedA)?.value == buffer("four"))
        #expect(TimestampedBytes.unpack(storedA)?.value == buffer("three"))
    }

    @Test func everyWriteIsLoggedWithTheRecordTimestamp() throws {
        let (store, sink, holder) = try logged(format: .plain)
        try store.put(buffer("a"), buffer("1"))
        holder.recordContext.timestamp = 200
        try store.putAll([KeyValue(buffer("b"), buffer("2")), KeyValue(buffer("c"), buffer("3"))])
        _ = try store.putIfAbsent(buffer("a"), buffer("ignored"))
        _ = try store.delete(buffer("b"))
        #expect(sink.writes == [
            .init(store: "logged", key: "a", value: "1", timestamp: 100),
            .init(store: "logged", key: "b", value: "2", timestamp: 200),
            .init(store: "logged", key: "c", value: "3", timestamp: 200),
            .init(store: "logged", key: "b", value: nil, timestamp: 200),
        ])
        #expect(text(try store.get(buffer("a"))) == "1")
    }

    @Test func timestampedValuesAreLoggedBareWithTheirOwnTimestamp() throws {
        let (store, sink, _) = try logged(format: .timestamped)
        // Timestamp 7 in eight big-endian bytes, then the value "v".
        try store.put(buffer("k"), buffer([0, 0, 0, 0, 0, 0, 0, 7, 0x76]))
        #expect(sink.writes == [.init(store: "logged", key: "k", value: "v", timestamp: 7)])
    }
}

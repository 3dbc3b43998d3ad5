import Foundation
import NIOCore
@testable import Rivulet
import Testing

/// The same behaviour is required of every byte-level store; expectations come from the
/// contract (unsigned lexicographic key order, inclusive ranges, nil deletes).
@Suite struct KeyValueStoreTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case inMemory, rocksDB
        var testDescription: String { rawValue }
    }

    private func open(_ kind: Kind, in directory: TemporaryDirectory) throws -> any KeyValueStore {
        switch kind {
        case .inMemory:
            let store = InMemoryKeyValueStore(name: "store")
            store.open()
            return store
        case .rocksDB:
            let store = RocksDBKeyValueStore(name: "store")
            try store.open(directory: "\(directory.path)/db")
            return store
        }
    }

    @Test(arguments: Kind.allCases) func putGetDelete(_ kind: Kind) throws {
        let directory = TemporaryDirectory()
        let store = try open(kind, in: directory)
        defer { try? store.close() }
        #expect(try store.get(buffer("a")) == nil)
        try store.put(buffer("a"), buffer("1"))
        try store.put(buffer("b"), buffer("2"))
        #expect(text(try store.get(buffer("a"))) == "1")
        try store.put(buffer("a"), buffer("3"))
        #expect(text(try store.get(buffer("a"))) == "3")
        #expect(text(try store.delete(buffer("a"))) == "3")
        #expect(try store.get(buffer("a")) == nil)
        try store.put(buffer("b"), nil)
        #expect(try store.get(buffer("b")) == nil)
        // Empty values are values, not deletes.
        try store.put(buffer("e"), buffer(""))
        #expect(try store.get(buffer("e")) == buffer(""))
    }

    @Test(arguments: Kind.allCases) func putIfAbsentAndPutAll(_ kind: Kind) throws {
        let directory = TemporaryDirectory()
        let store = try open(kind, in: directory)
        defer { try? store.close() }
        #expect(try store.putIfAbsent(buffer("k"), buffer("first")) == nil)
        #expect(text(try store.putIfAbsent(buffer("k"), buffer("second"))) == "first")
        #expect(text(try store.get(buffer("k"))) == "first")
        try store.putAll([KeyValue(buffer("x"), buffer("1")), KeyValue(buffer("y"), buffer("2")), KeyValue(buffer("k"), nil)])
        #expect(pairs(try store.all()) == ["x=1", "y=2"])
    }

    @Test(arguments: Kind.allCases) func rangesAreInclusiveAndOrderedByUnsignedBytes(_ kind: Kind) throws {
        let directory = TemporaryDirectory()
        let store = try open(kind, in: directory)
        defer { try? store.close() }
        // Inserted out of order; 0xFF must sort after 0x7F (unsigned), and "ab" after "a".
        for key: [UInt8] in [[0x62], [0xFF], [0x61, 0x62], [0x61], [0x7F], [0x63]] {
            try store.put(buffer(key), buffer(key.map { String($0) }.joined(separator: ",")))
        }
        let all = try store.all().map { Array($0.key.readableBytesView) }
        #expect(all == [[0x61], [0x61, 0x62], [0x62], [0x63], [0x7F], [0xFF]])
        #expect(pairs(try store.range(from: buffer("ab"), to: buffer("c"))) == ["ab=97,98", "b=98", "c=99"])
        #expect(pairs(try store.range(from: nil, to: buffer("a"))) == ["a=97"])
        #expect(try store.range(from: buffer([0x80]), to: nil).map { Array($0.key.readableBytesView) } == [[0xFF]])
        #expect(pairs(try store.range(from: buffer("d"), to: buffer("e"))) == [])
    }

    @Test(arguments: Kind.allCases) func prefixScan(_ kind: Kind) throws {
        let directory = TemporaryDirectory()
        let store = try open(kind, in: directory)
        defer { try? store.close() }
        for key in ["user:1", "user:2", "user;", "use", "order:1", "user:10"] {
            try store.put(buffer(key), buffer("v"))
        }
        #expect(try store.prefixScan(buffer("user:")).map { String(buffer: $0.key) } == ["user:1", "user:10", "user:2"])
        #expect(try store.prefixScan(buffer("zzz")).map { String(buffer: $0.key) } == [])
        try store.put(buffer([0xFF, 0xFF, 1]), buffer("v"))
        #expect(try store.prefixScan(buffer([0xFF, 0xFF])).map { Array($0.key.readableBytesView) } == [[0xFF, 0xFF, 1]])
    }

    @Test(arguments: Kind.allCases) func iteratorsSeeASnapshotAndPeek(_ kind: Kind) throws {
        let directory = TemporaryDirectory()
        let store = try open(kind, in: directory)
        defer { try? store.close() }
        try store.put(buffer("a"), buffer("1"))
        try store.put(buffer("b"), buffer("2"))
        let iterator = try store.all()
        #expect(text(iterator.peekNextKey()) == "a")
        try store.put(buffer("c"), buffer("3"))
        try store.put(buffer("a"), nil)
        #expect(pairs(iterator) == ["a=1", "b=2"])
        #expect(iterator.peekNextKey() == nil)
        iterator.close()
        #expect(pairs(try store.all()) == ["b=2", "c=3"])
    }

    @Test(arguments: Kind.allCases) func approximateNumEntries(_ kind: Kind) throws {
        let directory = TemporaryDirectory()
        let store = try open(kind, in: directory)
        defer { try? store.close() }
        for i in 0..<100 { try store.put(buffer("key-\(i)"), buffer("v")) }
        let count = try store.approximateNumEntries()
        // Exact in memory; RocksDB's estimate is allowed to be rough.
        if kind == .inMemory { #expect(count == 100) } else { #expect(count > 50 && count < 200) }
    }

    @Test(arguments: Kind.allCases) func closedStoresRefuseWork(_ kind: Kind) throws {
        let directory = TemporaryDirectory()
        let store = try open(kind, in: directory)
        try store.close()
        #expect(!store.isOpen)
        #expect(throws: StateStoreError.notOpen(store: "store")) { try store.get(buffer("a")) }
    }

    @Test func rocksDBPersistsAcrossReopen() throws {
        let directory = TemporaryDirectory()
        let path = "\(directory.path)/persisted"
        do {
            let store = RocksDBKeyValueStore(name: "persisted")
            try store.open(directory: path)
            try store.put(buffer("kept"), buffer("yes"))
            try store.put(buffer("gone"), buffer("soon"))
            try store.put(buffer("gone"), nil)
            try store.flush()
            try store.close()
        }
        let reopened = RocksDBKeyValueStore(name: "persisted")
        try reopened.open(directory: path)
        defer { try? reopened.close() }
        #expect(text(try reopened.get(buffer("kept"))) == "yes")
        #expect(try reopened.get(buffer("gone")) == nil)
        #expect(pairs(try reopened.all()) == ["kept=yes"])
    }

    @Test func rocksDBLivesInTheTaskDirectory() throws {
        let directory = TemporaryDirectory()
        let store = RocksDBKeyValueStore(name: "counts")
        try store.initialize(context: .standalone(directory: "\(directory.path)/app/0_3"))
        defer { try? store.close() }
        #expect(store.directory == "\(directory.path)/app/0_3/rocksdb/counts")
        #expect(FileManager.default.fileExists(atPath: "\(directory.path)/app/0_3/rocksdb/counts/CURRENT"))
    }

    @Test func rocksDBClosesOpenIteratorsWhenItCloses() throws {
        let directory = TemporaryDirectory()
        let store = RocksDBKeyValueStore(name: "it")
        try store.open(directory: "\(directory.path)/it")
        try store.put(buffer("a"), buffer("1"))
        try store.put(buffer("b"), buffer("2"))
        let iterator = try store.all()
        _ = iterator.next()
        try store.close()
        // The iterator was closed with the database: it ends instead of touching freed memory.
        #expect(iterator.next() == nil)
    }

    /// Random operations against both stores and a plain dictionary model.
    @Test func inMemoryAndRocksDBAgreeWithAModel() throws {
        let directory = TemporaryDirectory()
        let memory = try open(.inMemory, in: directory)
        let rocks = try open(.rocksDB, in: directory)
        defer { try? memory.close(); try? rocks.close() }
        var model: [[UInt8]: [UInt8]] = [:]
        var generator = SplitMix64(seed: 42)
        for _ in 0..<3000 {
            let key = (0..<Int(generator.next() % 3 + 1)).map { _ in UInt8(generator.next() % 6) * 50 }
            switch generator.next() % 4 {
            case 0:
                try memory.put(buffer(key), nil)
                try rocks.put(buffer(key), nil)
                model[key] = nil
            default:
                let value = [UInt8(generator.next() % 256)]
                try memory.put(buffer(key), buffer(value))
                try rocks.put(buffer(key), buffer(value))
                model[key] = value
            }
        }
        let expected = model.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { [$0.key, $0.value] }
        #expect(try memory.all().map { [Array($0.key.readableBytesView), Array($0.value.readableBytesView)] } == expected)
        #expect(try rocks.all().map { [Array($0.key.readableBytesView), Array($0.value.readableBytesView)] } == expected)
        let from = buffer([50]), to = buffer([150, 0])
        let expectedRange = expected.filter { !$0[0].lexicographicallyPrecedes([50]) && !([150, 0] as [UInt8]).lexicographicallyPrecedes($0[0]) }
        #expect(try memory.range(from: from, to: to).map { [Array($0.key.readableBytesView), Array($0.value.readableBytesView)] } == expectedRange)
        #expect(try rocks.range(from: from, to: to).map { [Array($0.key.readableBytesView), Array($0.value.readableBytesView)] } == expectedRange)
    }
}

/// A small deterministic generator for randomized tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

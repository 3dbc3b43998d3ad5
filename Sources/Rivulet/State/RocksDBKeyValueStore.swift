import CRocksDB
import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A persistent key-value store in RocksDB, through its C API.
///
/// In a task it lives in `<state.dir>/<application.id>/<task id>/rocksdb/<store name>`. Every
/// buffer RocksDB hands back (values, error strings, property strings) is copied into Swift
/// memory and released immediately; iterators are closed when done, when released, or at the
/// latest when the store closes, so no native resource outlives the database.
public final class RocksDBKeyValueStore: KeyValueStore {
    public let name: String
    public var persistent: Bool { true }
    public var isOpen: Bool { db != nil }
    /// Where the database lives once open.
    public private(set) var directory: String?

    private var db: OpaquePointer?
    private var options: OpaquePointer?
    private var writeOptions: OpaquePointer?
    private var readOptions: OpaquePointer?
    private var openIterators: [ObjectIdentifier: RocksDBIteratorReference] = [:]

    public init(name: String) {
        self.name = name
    }

    deinit {
        closeDatabase()
    }

    public func initialize(context: StateStoreContext) throws {
        try open(directory: "\(context.taskDirectory)/rocksdb/\(name)")
    }

    /// Opens (creating if missing) the database in `directory`.
    public func open(directory: String) throws {
        guard db == nil else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StateStoreError.rocksDB(store: name, operation: "create directory \(directory)", message: "\(error)")
        }
        let options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(options, 1)
        // Stores are many and small: keep RocksDB's own log quiet and short.
        rocksdb_options_set_info_log_level(options, 2)
        rocksdb_options_set_keep_log_file_num(options, 2)
        var error: UnsafeMutablePointer<CChar>?
        let handle = rocksdb_open(options, directory, &error)
        if let message = Self.take(error) {
            rocksdb_options_destroy(options)
            throw StateStoreError.rocksDB(store: name, operation: "open \(directory)", message: message)
        }
        self.options = options
        self.db = handle
        self.writeOptions = rocksdb_writeoptions_create()
        self.readOptions = rocksdb_readoptions_create()
        self.directory = directory
    }

    public func get(_ key: ByteBuffer) throws -> ByteBuffer? {
        let db = try openHandle()
        var error: UnsafeMutablePointer<CChar>?
        let slice = key.withUnsafeReadableBytes { k in
            rocksdb_get_pinned(db, readOptions, Self.chars(k), k.count, &error)
        }
        if let message = Self.take(error) {
            if let slice { rocksdb_pinnableslice_destroy(slice) }
            throw StateStoreError.rocksDB(store: name, operation: "get", message: message)
        }
        guard let slice else { return nil }
        defer { rocksdb_pinnableslice_destroy(slice) }
        var length = 0
        guard let pointer = rocksdb_pinnableslice_value(slice, &length) else { return ByteBuffer() }
        return ByteBuffer(bytes: UnsafeRawBufferPointer(start: pointer, count: length))
    }

    public func put(_ key: ByteBuffer, _ value: ByteBuffer?) throws {
        let db = try openHandle()
        var error: UnsafeMutablePointer<CChar>?
        key.withUnsafeReadableBytes { k in
            if let value {
                value.withUnsafeReadableBytes { v in
                    rocksdb_put(db, writeOptions, Self.chars(k), k.count, Self.chars(v), v.count, &error)
                }
            } else {
                rocksdb_delete(db, writeOptions, Self.chars(k), k.count, &error)
            }
        }
        if let message = Self.take(error) {
            throw StateStoreError.rocksDB(store: name, operation: value == nil ? "delete" : "put", message: message)
        }
    }

    /// One atomic write batch.
    public func putAll(_ entries: [KeyValue<ByteBuffer, ByteBuffer?>]) throws {
        let db = try openHandle()
        let batch = rocksdb_writebatch_create()
        defer { rocksdb_writebatch_destroy(batch) }
        for entry in entries {
            entry.key.withUnsafeReadableBytes { k in
                if let value = entry.value {
                    value.withUnsafeReadableBytes { v in
                        rocksdb_writebatch_put(batch, Self.chars(k), k.count, Self.chars(v), v.count)
                    }
                } else {
                    rocksdb_writebatch_delete(batch, Self.chars(k), k.count)
                }
            }
        }
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_write(db, writeOptions, batch, &error)
        if let message = Self.take(error) {
            throw StateStoreError.rocksDB(store: name, operation: "write batch", message: message)
        }
    }

    public func range(from: ByteBuffer?, to: ByteBuffer?) throws -> any KeyValueIterator {
        let db = try openHandle()
        let iterator = RocksDBIterator(owner: self, handle: rocksdb_create_iterator(db, readOptions), from: from, to: to)
        openIterators[ObjectIdentifier(iterator)] = RocksDBIteratorReference(iterator)
        return iterator
    }

    public func approximateNumEntries() throws -> Int {
        let db = try openHandle()
        guard let text = rocksdb_property_value(db, "rocksdb.estimate-num-keys") else { return 0 }
        defer { rocksdb_free(text) }
        return Int(String(cString: text)) ?? 0
    }

    /// Hands the write-ahead log to the operating system, so a crash of the process after a
    /// checkpoint is written cannot lose writes the checkpoint covers.
    public func flush() throws {
        let db = try openHandle()
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_flush_wal(db, 0, &error)
        if let message = Self.take(error) {
            throw StateStoreError.rocksDB(store: name, operation: "flush", message: message)
        }
    }

    public func close() throws {
        closeDatabase()
    }

    private func closeDatabase() {
        for reference in openIterators.values { reference.iterator?.close() }
        openIterators.removeAll()
        if let db { rocksdb_close(db) }
        if let writeOptions { rocksdb_writeoptions_destroy(writeOptions) }
        if let readOptions { rocksdb_readoptions_destroy(readOptions) }
        if let options { rocksdb_options_destroy(options) }
        db = nil
        writeOptions = nil
        readOptions = nil
        options = nil
    }

    fileprivate func iteratorClosed(_ iterator: RocksDBIterator) {
        openIterators[ObjectIdentifier(iterator)] = nil
    }

    private func openHandle() throws -> OpaquePointer {
        guard let db else { throw StateStoreError.notOpen(store: name) }
        return db
    }

    /// The message of a RocksDB error, freeing RocksDB's copy.
    fileprivate static func take(_ error: UnsafeMutablePointer<CChar>?) -> String? {
        guard let error else { return nil }
        defer { rocksdb_free(error) }
        return String(cString: error)
    }

    @inline(__always)
    fileprivate static func chars(_ bytes: UnsafeRawBufferPointer) -> UnsafePointer<CChar>? {
        bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
    }
}

/// Lets the store close its iterators without keeping them alive.
private struct RocksDBIteratorReference {
    weak var iterator: RocksDBIterator?

    init(_ iterator: RocksDBIterator) {
        self.iterator = iterator
    }
}

/// A range over a RocksDB store: a native iterator, positioned lazily, whose current entry is
/// copied out before it moves (RocksDB's key and value pointers die with the next step).
final class RocksDBIterator: KeyValueIterator {
    private weak var owner: RocksDBKeyValueStore?
    private var handle: OpaquePointer?
    private let upperBound: ByteBuffer?
    private var pending: KeyValue<ByteBuffer, ByteBuffer>?

    init(owner: RocksDBKeyValueStore, handle: OpaquePointer?, from: ByteBuffer?, to: ByteBuffer?) {
        self.owner = owner
        self.handle = handle
        self.upperBound = to
        if let from {
            from.withUnsafeReadableBytes { f in
                rocksdb_iter_seek(handle, f.baseAddress?.assumingMemoryBound(to: CChar.self), f.count)
            }
        } else {
            rocksdb_iter_seek_to_first(handle)
        }
        load()
    }

    deinit {
        if let handle { rocksdb_iter_destroy(handle) }
    }

    /// Copies the entry under the native cursor into `pending`, or ends the iteration.
    private func load() {
        guard let handle, rocksdb_iter_valid(handle) != 0 else {
            pending = nil
            return
        }
        var keyLength = 0
        let keyPointer = rocksdb_iter_key(handle, &keyLength)
        let key = UnsafeRawBufferPointer(start: keyPointer, count: keyLength)
        if let upperBound, upperBound.withUnsafeReadableBytes({ ByteOrder.compare(key, $0) > 0 }) {
            pending = nil
            return
        }
        var valueLength = 0
        let valuePointer = rocksdb_iter_value(handle, &valueLength)
        pending = KeyValue(
            ByteBuffer(bytes: key),
            ByteBuffer(bytes: UnsafeRawBufferPointer(start: valuePointer, count: valueLength))
        )
    }

    func next() -> KeyValue<ByteBuffer, ByteBuffer>? {
        guard let current = pending else { return nil }
        if let handle {
            rocksdb_iter_next(handle)
            load()
        }
        // Release the native iterator as soon as the range is exhausted.
        if pending == nil { close() }
        return current
    }

    func peekNextKey() -> ByteBuffer? {
        pending?.key
    }

    func close() {
        guard let handle else { return }
        rocksdb_iter_destroy(handle)
        self.handle = nil
        pending = nil
        owner?.iteratorClosed(self)
    }
}

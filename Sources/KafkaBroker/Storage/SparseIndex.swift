import NIOCore

/// A sparse, append-only index kept in memory and mirrored to a file of fixed-size entries.
///
/// The offset index maps a relative offset to the byte position of the batch holding it;
/// the time index maps a timestamp to the first relative offset at or after it. Entries are
/// added every `index.interval.bytes` of log, so a lookup lands within a few batches of the
/// target and a short forward scan finishes it.
struct SparseIndex {
    struct Entry: Equatable {
        var key: Int64
        var value: UInt32
    }

    private(set) var entries: [Entry] = []
    private let file: POSIXFile
    /// 8 bytes for the offset index (UInt32 key, UInt32 value), 12 for the time index (Int64 key).
    private let keyWidth: Int

    var entrySize: Int { keyWidth + 4 }

    init(file: POSIXFile, keyWidth: Int) {
        self.file = file
        self.keyWidth = keyWidth
    }

    /// Loads the entries on disk; returns false when the file is torn or out of order,
    /// in which case the caller rebuilds the index from the log.
    mutating func load(allocator: ByteBufferAllocator) throws -> Bool {
        let size = try file.size()
        guard size % entrySize == 0 else { return false }
        var buffer = try file.read(at: 0, length: size, allocator: allocator)
        var loaded: [Entry] = []
        loaded.reserveCapacity(size / entrySize)
        while buffer.readableBytes >= entrySize {
            let key: Int64 = keyWidth == 8 ? buffer.readInteger(as: Int64.self)! : Int64(buffer.readInteger(as: UInt32.self)!)
            let value = buffer.readInteger(as: UInt32.self)!
            if let last = loaded.last, key < last.key { return false }
            loaded.append(Entry(key: key, value: value))
        }
        entries = loaded
        return true
    }

    mutating func append(key: Int64, value: UInt32) throws {
        if let last = entries.last, key <= last.key { return }
        var buffer = ByteBuffer()
        if keyWidth == 8 { buffer.writeInteger(key) } else { buffer.writeInteger(UInt32(truncatingIfNeeded: key)) }
        buffer.writeInteger(value)
        try file.write(buffer, at: entries.count * entrySize)
        entries.append(Entry(key: key, value: value))
    }

    /// Drops every entry and empties the file.
    mutating func reset() throws {
        entries.removeAll()
        try file.truncate(to: 0)
    }

    /// Drops entries whose value is `>= value` (used after truncating the log at a position).
    mutating func truncate(whereValueAtLeast value: UInt32) throws {
        guard let first = entries.firstIndex(where: { $0.value >= value }) else { return }
        entries.removeSubrange(first...)
        try file.truncate(to: entries.count * entrySize)
    }

    /// The last entry whose key is `<= key`.
    func floor(_ key: Int64) -> Entry? {
        var low = 0, high = entries.count - 1
        var found: Entry?
        while low <= high {
            let mid = (low + high) / 2
            if entries[mid].key <= key { found = entries[mid]; low = mid + 1 } else { high = mid - 1 }
        }
        return found
    }

    /// The first entry whose key is `>= key`.
    func ceiling(_ key: Int64) -> Entry? {
        var low = 0, high = entries.count - 1
        var found: Entry?
        while low <= high {
            let mid = (low + high) / 2
            if entries[mid].key >= key { found = entries[mid]; high = mid - 1 } else { low = mid + 1 }
        }
        return found
    }

    func sync() throws { try file.sync() }
}

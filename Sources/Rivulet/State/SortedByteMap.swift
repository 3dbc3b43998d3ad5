import NIOCore

/// An ordered map from byte keys (in ``ByteOrder``) to values: the in-memory store keeps its
/// entries in one (the record cache hashes its keys and sorts only for range queries).
///
/// It is a list of sorted chunks of at most `chunkCapacity` entries: lookups are two binary
/// searches, an insert moves at most one chunk's elements, and scans walk contiguous arrays.
/// That keeps per-entry overhead to the two array slots (no node per entry, unlike a tree).
struct SortedByteMap<Value> {
    private struct Chunk {
        var keys: [ByteBuffer]
        var values: [Value]
    }

    private var chunks: [Chunk] = []
    private(set) var count = 0
    private let chunkCapacity: Int

    init(chunkCapacity: Int = 512) {
        precondition(chunkCapacity >= 2)
        self.chunkCapacity = chunkCapacity
    }

    var isEmpty: Bool { count == 0 }

    /// The chunk that holds `key` or would receive it: the first whose last key is not below it,
    /// or the last chunk when every key is below it.
    private func chunkIndex(for key: ByteBuffer) -> Int {
        var low = 0
        var high = chunks.count - 1
        while low < high {
            let mid = (low + high) / 2
            if ByteOrder.compare(chunks[mid].keys[chunks[mid].keys.count - 1], key) < 0 {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// The index of the first key in the chunk that is not below `key`.
    private static func lowerBound(_ keys: [ByteBuffer], _ key: ByteBuffer) -> (index: Int, found: Bool) {
        var low = 0
        var high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if ByteOrder.compare(keys[mid], key) < 0 { low = mid + 1 } else { high = mid }
        }
        return (low, low < keys.count && ByteOrder.compare(keys[low], key) == 0)
    }

    subscript(key: ByteBuffer) -> Value? {
        guard !chunks.isEmpty else { return nil }
        let c = chunkIndex(for: key)
        let (i, found) = Self.lowerBound(chunks[c].keys, key)
        return found ? chunks[c].values[i] : nil
    }

    /// Changes the value of an existing key in place, with one search; `nil` when the key is absent.
    mutating func modify<Result>(_ key: ByteBuffer, _ body: (inout Value) -> Result) -> Result? {
        guard !chunks.isEmpty else { return nil }
        let c = chunkIndex(for: key)
        let (i, found) = Self.lowerBound(chunks[c].keys, key)
        guard found else { return nil }
        return body(&chunks[c].values[i])
    }

    /// Inserts or replaces; returns the value replaced.
    @discardableResult
    mutating func set(_ key: ByteBuffer, _ value: Value) -> Value? {
        guard !chunks.isEmpty else {
            chunks.append(Chunk(keys: [key], values: [value]))
            count = 1
            return nil
        }
        let c = chunkIndex(for: key)
        let (i, found) = Self.lowerBound(chunks[c].keys, key)
        if found {
            let old = chunks[c].values[i]
            chunks[c].values[i] = value
            return old
        }
        chunks[c].keys.insert(key, at: i)
        chunks[c].values.insert(value, at: i)
        count += 1
        if chunks[c].keys.count > chunkCapacity { split(c) }
        return nil
    }

    private mutating func split(_ c: Int) {
        let half = chunks[c].keys.count / 2
        let upper = Chunk(keys: Array(chunks[c].keys[half...]), values: Array(chunks[c].values[half...]))
        chunks[c].keys.removeSubrange(half...)
        chunks[c].values.removeSubrange(half...)
        chunks.insert(upper, at: c + 1)
    }

    /// Removes the key; returns the value it had.
    @discardableResult
    mutating func remove(_ key: ByteBuffer) -> Value? {
        guard !chunks.isEmpty else { return nil }
        let c = chunkIndex(for: key)
        let (i, found) = Self.lowerBound(chunks[c].keys, key)
        guard found else { return nil }
        chunks[c].keys.remove(at: i)
        let old = chunks[c].values.remove(at: i)
        count -= 1
        if chunks[c].keys.isEmpty { chunks.remove(at: c) }
        return old
    }

    mutating func removeAll() {
        chunks.removeAll()
        count = 0
    }

    /// Calls `body` for entries with `from <= key <= to` in key order until it returns `false`;
    /// `nil` bounds are open.
    func forEach(from: ByteBuffer?, to: ByteBuffer?, _ body: (ByteBuffer, Value) throws -> Bool) rethrows {
        guard !chunks.isEmpty else { return }
        var c = 0
        var i = 0
        if let from {
            c = chunkIndex(for: from)
            i = Self.lowerBound(chunks[c].keys, from).index
        }
        while c < chunks.count {
            let chunk = chunks[c]
            while i < chunk.keys.count {
                let key = chunk.keys[i]
                if let to, ByteOrder.compare(key, to) > 0 { return }
                guard try body(key, chunk.values[i]) else { return }
                i += 1
            }
            c += 1
            i = 0
        }
    }

    /// The entries with `from <= key <= to`, in key order.
    func entries(from: ByteBuffer?, to: ByteBuffer?) -> [(key: ByteBuffer, value: Value)] {
        var result: [(key: ByteBuffer, value: Value)] = []
        forEach(from: from, to: to) { key, value in
            result.append((key, value))
            return true
        }
        return result
    }
}

extension ByteBuffer {
    /// This buffer, copied into storage of its own size when it is a small view of a larger
    /// storage (a record sliced out of a fetched batch): a store keeping the slice would keep the
    /// whole batch alive.
    @inlinable
    func compacted() -> ByteBuffer {
        guard storageCapacity > readableBytes &+ 64 else { return self }
        var copy = ByteBufferAllocator().buffer(capacity: readableBytes)
        var source = self
        copy.writeBuffer(&source)
        return copy
    }
}

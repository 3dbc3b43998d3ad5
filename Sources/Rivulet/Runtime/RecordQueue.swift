import NIOCore

/// The buffered records of one input partition of a task, each with its extracted timestamp.
struct RecordQueue {
    struct Entry {
        var record: RawRecord
        var timestamp: Int64
    }

    let source: any SourceRuntimeNode
    let extractor: TimestampExtractor
    private var entries = CircularBuffer<Entry>()
    /// The largest timestamp seen on the partition (-1 before any).
    private(set) var partitionTime: Int64 = -1

    init(source: any SourceRuntimeNode, extractor: TimestampExtractor) {
        self.source = source
        self.extractor = extractor
    }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var headTimestamp: Int64? { entries.first?.timestamp }

    mutating func append(_ entry: Entry) {
        entries.append(entry)
        partitionTime = max(partitionTime, entry.timestamp)
    }

    mutating func popFirst() -> Entry? {
        entries.popFirst()
    }

    mutating func removeAll() {
        entries.removeAll()
    }
}

import KafkaProtocol

/// The buffered records of one input partition of a task, each with its extracted timestamp.
struct RecordQueue {
    struct Entry {
        var record: RawRecord
        var timestamp: Int64
    }

    let partition: TopicPartition
    /// The source node's entry point (see ``BuiltNode``).
    let source: SourceEntry
    let extractor: TimestampExtractor
    private let entries = FIFOBuffer<Entry>()
    /// The largest timestamp seen on the partition (-1 before any).
    private(set) var partitionTime: Int64 = -1
    /// The offset of the last record taken out (processed or skipped); `nil` before any.
    private(set) var consumed: Int64?

    init(partition: TopicPartition, source: SourceEntry, extractor: TimestampExtractor) {
        self.partition = partition
        self.source = source
        self.extractor = extractor
    }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var headTimestamp: Int64? { entries.withFirst { $0.timestamp } }

    mutating func append(_ entry: consuming Entry) {
        partitionTime = max(partitionTime, entry.timestamp)
        entries.append(consume entry)
    }

    /// Takes the head out, recording its offset as consumed.
    mutating func popFirst() -> Entry? {
        guard let entry = entries.popFirst() else { return nil }
        consumed = entry.record.offset
        return entry
    }

    func removeAll() {
        entries.removeAll()
    }
}

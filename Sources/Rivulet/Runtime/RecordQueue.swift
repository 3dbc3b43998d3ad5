import KafkaProtocol

/// The buffered records of one input partition of a task, each with its extracted timestamp.
///
/// Records and timestamps sit in two buffers side by side rather than as pairs in one: a record
/// taken out of a pair was copied whole (a retain of each of its references, then a release) to
/// be passed on to the source node; one taken out on its own is passed as it is.
struct RecordQueue {
    let partition: TopicPartition
    /// The source node's entry point (see ``BuiltNode``).
    let source: SourceEntry
    let extractor: TimestampExtractor
    private let records = FIFOBuffer<RawRecord>()
    /// The extracted timestamps, one per buffered record (-1: invalid, skipped).
    private let timestamps = FIFOBuffer<Int64>()
    /// The largest timestamp seen on the partition (-1 before any).
    private(set) var partitionTime: Int64 = -1
    /// The offset of the last record taken out (processed or skipped); `nil` before any.
    private(set) var consumed: Int64?

    init(partition: TopicPartition, source: SourceEntry, extractor: TimestampExtractor) {
        self.partition = partition
        self.source = source
        self.extractor = extractor
    }

    var isEmpty: Bool { timestamps.isEmpty }
    var count: Int { timestamps.count }
    var headTimestamp: Int64? { timestamps.withFirst { $0 } }

    /// Appends a record in two steps, so that it is built in its place (see
    /// ``FIFOBuffer/appendUninitialized()``): the caller initializes the returned slot, then either
    /// appends the record's timestamp (``appendTimestamp(_:)``) or takes the record back out
    /// (``removeLastRecord()``), before anything else uses the queue.
    @inline(__always)
    mutating func appendRecordSlot() -> UnsafeMutablePointer<RawRecord> {
        records.appendUninitialized()
    }

    /// Completes ``appendRecordSlot()``: the extracted timestamp of the record appended last.
    @inline(__always)
    mutating func appendTimestamp(_ timestamp: Int64) {
        partitionTime = max(partitionTime, timestamp)
        timestamps.append(timestamp)
    }

    /// Undoes ``appendRecordSlot()`` for a record whose timestamp failed.
    mutating func removeLastRecord() {
        records.removeLast()
    }

    /// Takes the head out of a queue that is not empty, recording its offset as consumed.
    mutating func removeFirst() -> (record: RawRecord, timestamp: Int64) {
        let record = records.removeFirst()
        consumed = record.offset
        return (record, timestamps.removeFirst())
    }

    func removeAll() {
        records.removeAll()
        timestamps.removeAll()
    }
}

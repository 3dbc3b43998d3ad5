import KafkaProtocol
import NIOCore

/// What resumes a caller of `send`: the record's outcome, or the reason it could not be
/// added yet (the caller then waits for metadata or buffer room and tries again).
enum SendOutcome: Sendable {
    case delivered(Result<RecordMetadata, KafkaProducerError>)
    case blocked(RecordAccumulator.AppendResult)
}

/// A record whose caller waits in `send`: its place in the batch and its timestamp, from
/// which its offset and metadata timestamp follow.
struct PendingRecord {
    var offsetDelta: Int32
    var timestamp: Int64
    var continuation: UnsafeContinuation<SendOutcome, Never>
}

/// One record batch for one partition, from the first append until it is acknowledged or fails.
///
/// Records are encoded into `builder` as they are appended; the batch is compressed when a
/// request is written, straight into the request buffer, and re-encoded from the same builder if
/// it has to be sent again. Every mutable field is only touched with the accumulator's lock held
/// (or, for `builder`, after the batch is closed, when nothing mutates it any more): hence
/// `@unchecked Sendable`.
final class ProducerBatch: @unchecked Sendable {
    let topicPartition: TopicPartition
    /// Creation order across the producer; `flush()` waits for every batch up to a serial.
    let serial: UInt64
    let createdAt: NIODeadline
    // The fields a record's append touches are accessed under the accumulator's lock only (see
    // above): the run-time exclusivity check a class's stored `var` costs per access is spared.
    @exclusivity(unchecked) var builder: RecordBatchBuilder
    /// Records whose callers wait in `send`, by offset delta; records sent with `sendAndForget`
    /// leave nothing here (their outcomes are reported from the batch itself).
    @exclusivity(unchecked) var pending: [PendingRecord] = []
    /// Bytes of `bufferMemory` this batch holds until it completes.
    @exclusivity(unchecked) var reservedBytes = 0
    /// Closed batches take no more records: full, or taken by the sender.
    @exclusivity(unchecked) var isClosed = false

    // Delivery state.

    /// The sequence of the first record, counted without wrapping (the wire form wraps at
    /// Int32.max); assigned when first sent with idempotence, kept across retries so the broker
    /// recognises a batch it already has.
    var sequence: Int64?
    var attempts = 0
    /// Whether the last attempt may have been written (its connection failed or timed out)
    /// rather than refused: such a batch cannot safely be given a new sequence.
    var lastAttemptAmbiguous = false
    var lastFailure: ProduceFailure?
    /// Set once the outcome is delivered, so that late events are ignored.
    var isDone = false

    init(topicPartition: TopicPartition, serial: UInt64, createdAt: NIODeadline, compression: CompressionCodec, capacity: Int) {
        self.topicPartition = topicPartition
        self.serial = serial
        self.createdAt = createdAt
        self.builder = RecordBatchBuilder(compression: compression, reservingCapacity: capacity)
    }

    var recordCount: Int32 { builder.recordCount }
    /// Upper bound of the batch's size on the wire before compression.
    var estimatedSize: Int { builder.estimatedSizeInBytes }

    /// The sequence one past this batch's last record.
    var nextSequence: Int64? { sequence.map { $0 + Int64(recordCount) } }

    /// The batch's records decoded back from its builder, for delivery reports and interceptors:
    /// nothing per record is kept while the batch is under way, so outcomes are reported from
    /// the encoded records once it completes (rarely: reports of failures only need this then).
    func decodedRecords() -> [(offsetDelta: Int32, record: ProducerRecord)] {
        var plain = builder
        plain.compression = .none
        guard let bytes = try? plain.build(), let batch = try? RecordBatch(decoding: bytes, at: bytes.readerIndex),
              let records = try? batch.records() else { return [] }
        return records.map { record in
            (record.offsetDelta, ProducerRecord(
                topic: topicPartition.topic, partition: topicPartition.partition, key: record.key, value: record.value,
                headers: record.headers, timestamp: record.timestamp))
        }
    }

    /// Kafka's sequence numbers wrap from Int32.max to 0.
    static func wireSequence(_ sequence: Int64) -> Int32 {
        Int32(truncatingIfNeeded: sequence % (Int64(Int32.max) + 1))
    }
}

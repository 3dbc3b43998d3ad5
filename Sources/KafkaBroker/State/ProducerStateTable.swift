import KafkaProtocol

/// Per-partition state of idempotent and transactional producers: their epoch, the last few
/// batches they wrote (to recognise retries), and where their open transaction began.
///
/// Rebuilt from the log on start, so it survives restarts without a file of its own.
struct ProducerStateTable {
    /// Kafka keeps the last five batches per producer: the most a producer may have in flight.
    static let retainedBatches = 5

    struct BatchMetadata: Equatable {
        var firstSequence: Int32
        var lastSequence: Int32
        var firstOffset: Int64
        var lastOffset: Int64
    }

    struct Entry {
        var epoch: Int16
        var recent: [BatchMetadata] = []
        /// The first offset of this producer's open transaction on this partition.
        var transactionFirstOffset: Int64?
    }

    enum SequenceCheck: Equatable {
        /// Append the batch.
        case append
        /// A retry of a batch already written: answer with its original offsets, append nothing.
        case duplicate(BatchMetadata)
    }

    private(set) var producers: [Int64: Entry] = [:]

    /// Checks a batch's producer epoch and sequence against what this partition has seen.
    func check(_ header: RecordBatchHeader) throws(AppendError) -> SequenceCheck {
        guard header.producerId >= 0 else { return .append }
        guard let entry = producers[header.producerId] else {
            // A producer unknown here (new, or its state removed by retention) may start at any sequence.
            return .append
        }
        if header.producerEpoch < entry.epoch {
            throw AppendError(code: .invalidProducerEpoch, message: "producer \(header.producerId) epoch \(header.producerEpoch) is older than \(entry.epoch)")
        }
        guard header.baseSequence >= 0 else { return .append }
        let lastSequence = Self.add(header.baseSequence, header.lastOffsetDelta)
        if header.producerEpoch > entry.epoch {
            guard header.baseSequence == 0 else {
                throw AppendError(code: .outOfOrderSequenceNumber, message: "new epoch \(header.producerEpoch) of producer \(header.producerId) must start at sequence 0, got \(header.baseSequence)")
            }
            return .append
        }
        if let duplicate = entry.recent.first(where: { $0.firstSequence == header.baseSequence && $0.lastSequence == lastSequence }) {
            return .duplicate(duplicate)
        }
        guard let last = entry.recent.last else { return .append }
        guard header.baseSequence == Self.add(last.lastSequence, 1) else {
            throw AppendError(code: .outOfOrderSequenceNumber, message: "producer \(header.producerId) sent sequence \(header.baseSequence), expected \(Self.add(last.lastSequence, 1))")
        }
        return .append
    }

    /// Records a batch written at `firstOffset...lastOffset`.
    mutating func record(_ header: RecordBatchHeader, firstOffset: Int64, lastOffset: Int64) {
        guard header.producerId >= 0 else { return }
        var entry = producers[header.producerId] ?? Entry(epoch: header.producerEpoch)
        if header.producerEpoch > entry.epoch {
            entry.epoch = header.producerEpoch
            entry.recent.removeAll()
        }
        if header.attributes.isControl {
            // A commit or abort marker closes the transaction; the caller handles the aborted index.
            entry.transactionFirstOffset = nil
        } else {
            if header.baseSequence >= 0 {
                entry.recent.append(BatchMetadata(
                    firstSequence: header.baseSequence, lastSequence: Self.add(header.baseSequence, header.lastOffsetDelta),
                    firstOffset: firstOffset, lastOffset: lastOffset))
                if entry.recent.count > Self.retainedBatches { entry.recent.removeFirst() }
            }
            if header.attributes.isTransactional && entry.transactionFirstOffset == nil {
                entry.transactionFirstOffset = firstOffset
            }
        }
        producers[header.producerId] = entry
    }

    /// Fences older epochs: the transaction coordinator bumped this producer's epoch.
    mutating func bumpEpoch(producerId: Int64, to epoch: Int16) {
        var entry = producers[producerId] ?? Entry(epoch: epoch)
        if epoch > entry.epoch { entry.epoch = epoch; entry.recent.removeAll() }
        producers[producerId] = entry
    }

    func openTransactionFirstOffset(producerId: Int64) -> Int64? {
        producers[producerId]?.transactionFirstOffset
    }

    /// Base offsets of every producer's newest batch with a sequence: compaction keeps these batches
    /// (emptied if need be) so that a restart still knows each producer's epoch and last sequence.
    var lastBatchOffsets: Set<Int64> {
        Set(producers.values.compactMap { $0.recent.last?.firstOffset })
    }

    /// The first offset of the oldest open transaction, which bounds the last stable offset.
    var firstUnstableOffset: Int64? {
        producers.values.compactMap(\.transactionFirstOffset).min()
    }

    /// Sequence numbers wrap from Int32.max to 0.
    static func add(_ sequence: Int32, _ delta: Int32) -> Int32 {
        let sum = Int64(sequence) + Int64(delta)
        return Int32(truncatingIfNeeded: sum > Int64(Int32.max) ? sum - Int64(Int32.max) - 1 : sum)
    }
}

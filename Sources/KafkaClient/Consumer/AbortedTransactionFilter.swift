import KafkaProtocol

/// Drops the batches of aborted transactions from one partition's fetched data (read_committed).
///
/// A read_committed Fetch response lists, per partition, the aborted transactions that overlap
/// the returned data: each producer id with the first offset of its aborted transaction. The
/// filter walks the batches in offset order:
///
/// - before a transactional batch, every listed transaction starting at or before the batch's
///   last offset becomes "open and aborted" for its producer;
/// - a data batch of a producer with an open aborted transaction is dropped;
/// - the producer's ABORT marker (a control batch) closes its aborted transaction, so the same
///   producer's later transactions (which may commit) are read again.
///
/// Control batches themselves never reach the application. Batches of producers without an
/// aborted transaction, and all non-transactional batches, pass.
struct AbortedTransactionFilter {
    /// Listed aborted transactions not yet reached, by first offset, latest first (popped from the end).
    private var upcoming: [(producerId: Int64, firstOffset: Int64)]
    /// Producers whose aborted transaction the walk is inside.
    private var abortedProducers: Set<Int64> = []

    init(_ abortedTransactions: [(producerId: Int64, firstOffset: Int64)]) {
        upcoming = abortedTransactions.sorted { $0.firstOffset > $1.firstOffset }
    }

    init(_ abortedTransactions: [FetchResponse.AbortedTransaction]?) {
        self.init((abortedTransactions ?? []).map { ($0.producerId, $0.firstOffset) })
    }

    /// Whether the application sees the records of the batch with this header.
    /// - Parameter abortMarker: for a control batch, whether it holds an ABORT marker.
    mutating func admits(_ header: RecordBatchHeader, isAbortMarker abortMarker: Bool) -> Bool {
        if header.isTransactional {
            while let next = upcoming.last, next.firstOffset <= header.lastOffset {
                abortedProducers.insert(next.producerId)
                upcoming.removeLast()
            }
            if header.isControl {
                if abortMarker { abortedProducers.remove(header.producerId) }
                return false
            }
            return !abortedProducers.contains(header.producerId)
        }
        return !header.isControl
    }
}

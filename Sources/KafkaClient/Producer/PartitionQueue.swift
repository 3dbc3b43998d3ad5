import KafkaProtocol
import NIOCore

/// One partition's batches and the rules that keep them in order across retries.
///
/// Batches leave in creation order (`serial`) and a failed one goes back in line at its place,
/// so the queue is always sorted by serial: retries ahead of batches never sent. With
/// idempotence each batch gets its sequence numbers when first sent and keeps them, and:
///
/// - After a retriable failure the partition sends nothing until every in-flight batch has
///   come back (the *barrier*): the broker refuses later sequences with
///   OUT_OF_ORDER_SEQUENCE_NUMBER once one is missing, and those come back too. Then the
///   failed batch and those after it go again, in sequence order.
/// - After a definite failure (the broker refused the batch, so it is not in the log) the
///   batches after it cannot have been written either: once in-flight batches are back, the
///   sequences from the failed one on are handed out again (*rewind*).
/// - When the broker has no record of an earlier sequence (it lost the producer's state), or a
///   batch that may have been written is given up, sequence numbers cannot continue: the
///   partition needs a new producer id (*reset*), which the accumulator coordinates.
///
/// Only touched under the accumulator's lock.
final class PartitionQueue {
    let topicPartition: TopicPartition
    /// The leader's node id from metadata, or -1.
    var leader: Int32 = -1
    /// Waiting to be sent, oldest (lowest serial) first; the last one may still take records.
    /// Read for every record appended, under the accumulator's lock: no run-time exclusivity check.
    @exclusivity(unchecked) private(set) var queued: [ProducerBatch] = []
    /// Sent and not yet answered, in send order.
    private(set) var inFlight: [ProducerBatch] = []
    /// The sequence the next batch sent for the first time gets.
    var nextSequence: Int64 = 0
    /// Set after a failure: nothing is sent until `inFlight` is empty.
    private(set) var barrier = false
    /// Set after a definite failure of a sequenced batch: where sequences restart.
    private(set) var rewindTo: Int64?
    /// The partition cannot continue its sequences and waits for a new producer id.
    var needsReset = false
    /// No retry before this time.
    var backoffUntil = NIODeadline.uptimeNanoseconds(0)
    /// The last thing that went wrong for this partition, reported when a batch times out.
    var lastFailure: ProduceFailure?

    init(_ topicPartition: TopicPartition) {
        self.topicPartition = topicPartition
    }

    var isIdle: Bool { queued.isEmpty && inFlight.isEmpty }
    var hasBarrier: Bool { barrier }
    var pendingRewind: Int64? { rewindTo }

    /// The batch still taking records, if any.
    var openBatch: ProducerBatch? {
        guard let last = queued.last, !last.isClosed else { return nil }
        return last
    }

    func appendNewBatch(_ batch: ProducerBatch) {
        queued.append(batch)
    }

    /// Takes the queued batch at `index` to send it.
    func take(at index: Int) -> ProducerBatch {
        let batch = queued.remove(at: index)
        inFlight.append(batch)
        return batch
    }

    /// Removes a batch from the front of the queue without sending it (it expired).
    func dropFront() -> ProducerBatch {
        queued.removeFirst()
    }

    /// Takes a batch back from flight; false if it was not in flight (already handled).
    func land(_ batch: ProducerBatch) -> Bool {
        guard let index = inFlight.firstIndex(where: { $0 === batch }) else { return false }
        inFlight.remove(at: index)
        return true
    }

    /// Puts a batch back in line at its place by serial.
    func requeue(_ batch: ProducerBatch) {
        let index = queued.firstIndex { $0.serial > batch.serial } ?? queued.endIndex
        queued.insert(batch, at: index)
    }

    /// Whether a batch with a lower sequence than `sequence` is still unacknowledged: then an
    /// OUT_OF_ORDER_SEQUENCE_NUMBER for `sequence` only means that one is missing.
    func hasUnacknowledgedPredecessor(of sequence: Int64) -> Bool {
        inFlight.contains { ($0.sequence ?? .max) < sequence } || queued.contains { ($0.sequence ?? .max) < sequence }
    }

    /// Stops sending until in-flight batches are back.
    func raiseBarrier() {
        barrier = true
    }

    /// Remembers that sequences must restart at `sequence` once in-flight batches are back.
    func rewind(to sequence: Int64) {
        rewindTo = min(rewindTo ?? sequence, sequence)
        barrier = true
    }

    /// Lifts the barrier once nothing is in flight, handing out sequences again after a rewind.
    func settleIfIdle() {
        guard barrier, inFlight.isEmpty else { return }
        barrier = false
        if let rewindTo {
            for batch in queued where (batch.sequence ?? .min) >= rewindTo {
                batch.sequence = nil
            }
            nextSequence = rewindTo
            self.rewindTo = nil
        }
    }

    /// A new producer id: every sequence starts again from zero.
    func resetSequences() {
        for batch in queued { batch.sequence = nil }
        nextSequence = 0
        rewindTo = nil
        needsReset = false
        settleIfIdle()
    }

    /// Whether a queued batch still carries a sequence that must be resolved under the current
    /// producer id before a reset: sequenced batches of healthy partitions, and batches of a
    /// partition needing a reset that may have been written.
    var blocksReset: Bool {
        !inFlight.isEmpty || queued.contains { $0.sequence != nil && (!needsReset || $0.lastAttemptAmbiguous) }
    }

    /// Removes every batch, queued and in flight (the producer is being closed without waiting).
    func removeAll() -> [ProducerBatch] {
        let all = inFlight + queued
        inFlight.removeAll()
        queued.removeAll()
        return all
    }
}

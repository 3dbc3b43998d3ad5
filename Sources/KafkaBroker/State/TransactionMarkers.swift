import KafkaProtocol
import NIOCore

/// Commit and abort markers as the broker writes and reads them.
enum TransactionMarkers {
    /// A control batch holding one end-of-transaction marker.
    static func batch(commit: Bool, producerId: Int64, producerEpoch: Int16, coordinatorEpoch: Int32, timestamp: Int64) throws -> ByteBuffer {
        try RecordBatchBuilder.endTransactionMarker(
            ControlRecord.endTransaction(commit: commit, coordinatorEpoch: coordinatorEpoch),
            timestamp: timestamp, producerId: producerId, producerEpoch: producerEpoch)
    }

    /// The marker kind of a control batch, or nil when it holds no transaction marker.
    static func kind(of batch: RecordBatch) -> ControlRecord.Kind? {
        var kind: ControlRecord.Kind?
        try? batch.forEachRecord { record in
            if kind == nil, let control = try? ControlRecord(record), control.isTransactionMarker { kind = control.kind }
        }
        return kind
    }

    /// The marker kind of the control batch at the start of `bytes`.
    static func kind(ofBatchBytes bytes: ByteBuffer) -> ControlRecord.Kind? {
        var copy = bytes
        guard let batch = try? RecordBatch.decode(from: &copy) else { return nil }
        return kind(of: batch)
    }
}

import KafkaProtocol
import NIOCore

/// Rewrites a record batch that lost some of its records to compaction.
///
/// The rewritten batch keeps everything a reader or a restarted broker relies on: its base
/// offset and each survivor's offset delta (so offsets do not move), its last offset delta
/// (so the producer's last sequence and the batch's offset span stay as written), its producer
/// id, epoch and base sequence, its transactional flag, codec, timestamp type and leader epoch.
enum CompactedBatch {
    /// The batch of `header` holding only `records` (which came from it, in order).
    static func rebuild(_ header: RecordBatchHeader, keeping records: [Record]) throws -> ByteBuffer {
        let logAppendTime = header.timestampType == .logAppendTime
        var builder = RecordBatchBuilder(
            baseOffset: header.baseOffset, compression: header.attributes.compression ?? .none,
            producerId: header.producerId, producerEpoch: header.producerEpoch, baseSequence: header.baseSequence,
            isTransactional: header.isTransactional, isControl: header.isControl,
            partitionLeaderEpoch: header.partitionLeaderEpoch, timestampType: header.timestampType,
            logAppendTime: logAppendTime ? header.maxTimestamp : nil)
        for record in records {
            try builder.append(offsetDelta: record.offsetDelta, timestamp: record.timestamp,
                               key: record.key, value: record.value, headers: record.headers)
        }
        var batch = try builder.build()
        try restoreLastOffsetDelta(header.lastOffsetDelta, in: &batch)
        return batch
    }

    /// The batch of `header` with no records at all: kept when a producer's newest batch lost
    /// every record, so that its epoch and sequence survive a restart. Readers skip such a batch
    /// and continue after its last offset.
    static func empty(_ header: RecordBatchHeader) throws -> ByteBuffer {
        var emptied = header
        emptied.attributes.compression = CompressionCodec.none
        emptied.batchLength = RecordBatchHeader.minimumBatchLength
        emptied.recordCount = 0
        emptied.crc = 0
        var batch = ByteBuffer()
        emptied.write(to: &batch)
        let crc = try RecordBatchHeader.computeCRC(in: batch, at: batch.readerIndex)
        batch.setInteger(crc, at: batch.readerIndex + RecordBatchHeader.Layout.crc, endianness: .big)
        return batch
    }

    /// The builder ends a batch at its last record; a compacted batch must still span the offsets
    /// it was written with. The CRC covers the field, so it is recomputed.
    private static func restoreLastOffsetDelta(_ delta: Int32, in batch: inout ByteBuffer) throws {
        let at = batch.readerIndex
        guard batch.getInteger(at: at + RecordBatchHeader.Layout.lastOffsetDelta, endianness: .big, as: Int32.self) != delta else { return }
        batch.setInteger(delta, at: at + RecordBatchHeader.Layout.lastOffsetDelta, endianness: .big)
        let crc = try RecordBatchHeader.computeCRC(in: batch, at: at)
        batch.setInteger(crc, at: at + RecordBatchHeader.Layout.crc, endianness: .big)
    }
}

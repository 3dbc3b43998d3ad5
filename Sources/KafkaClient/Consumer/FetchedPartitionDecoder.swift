import KafkaProtocol
import NIOCore

/// One partition's records from a Fetch response, ready for the application.
struct DecodedPartitionRecords: Sendable {
    var records: [ConsumerRecord]
    /// Where the next fetch of the partition starts: past the last complete batch, including
    /// skipped control and aborted batches; the fetch offset when no batch was complete.
    var nextFetchOffset: Int64
    /// Bytes of the fetched data (compressed), for the prefetch buffer's accounting.
    var fetchedBytes: Int
    /// Set when a batch failed to decode; `records` holds what preceded it.
    var corruption: KafkaConsumerError?
}

/// Turns a partition's `records` bytes into `ConsumerRecord`s: batches before the fetch
/// offset's position are trimmed, control batches and (read_committed) aborted transactions
/// dropped, and keys and values left as slices of the fetched or decompressed bytes.
enum FetchedPartitionDecoder {
    static func decode(topic: String, partition: Int32, records bytes: ByteBuffer, fetchOffset: Int64,
                       abortedTransactions: [FetchResponse.AbortedTransaction]?, readCommitted: Bool,
                       options: RecordDecodingOptions) -> DecodedPartitionRecords {
        var result = DecodedPartitionRecords(records: [], nextFetchOffset: fetchOffset, fetchedBytes: bytes.readableBytes, corruption: nil)
        var reader = RecordSetReader(bytes, options: options)
        var filter = AbortedTransactionFilter(readCommitted ? abortedTransactions : nil)
        while true {
            let entry: RecordSetEntry
            do {
                guard let next = try reader.next() else { break }
                entry = next
            } catch {
                result.corruption = .corruptRecord(TopicPartition(topic, partition), offset: result.nextFetchOffset, reason: "\(error)")
                break
            }
            let recordsBefore = result.records.count
            do {
                switch entry {
                case let .batch(batch):
                    let header = batch.header
                    guard header.lastOffset >= fetchOffset else { continue }
                    var isAbortMarker = false
                    if header.isControl, header.isTransactional {
                        var iterator = batch.makeRecordIterator()
                        if let first = try iterator.next() { isAbortMarker = (try? ControlRecord(first))?.kind == .abort }
                    }
                    let admitted = readCommitted ? filter.admits(header, isAbortMarker: isAbortMarker) : !header.isControl
                    if admitted {
                        try append(batch, topic: topic, partition: partition, from: fetchOffset, to: &result.records)
                    }
                    result.nextFetchOffset = max(result.nextFetchOffset, header.nextOffset)
                case let .legacy(legacy):
                    for record in legacy.records where record.offset >= fetchOffset {
                        result.records.append(ConsumerRecord(
                            topic: topic, partition: partition, offset: record.offset, timestamp: record.timestamp,
                            timestampType: legacy.timestampType, key: record.key, value: record.value))
                    }
                    result.nextFetchOffset = max(result.nextFetchOffset, legacy.lastOffset + 1)
                }
            } catch {
                // Nothing of a batch that fails part-way is delivered: the error names its position.
                result.records.removeSubrange(recordsBefore...)
                result.corruption = .corruptRecord(TopicPartition(topic, partition), offset: max(result.nextFetchOffset, entry.baseOffset), reason: "\(error)")
                break
            }
        }
        return result
    }

    @inline(__always)
    private static func append(_ batch: RecordBatch, topic: String, partition: Int32, from fetchOffset: Int64,
                               to records: inout [ConsumerRecord]) throws {
        let header = batch.header
        let timestampType = header.timestampType
        let epoch: Int32? = header.partitionLeaderEpoch >= 0 ? header.partitionLeaderEpoch : nil
        records.reserveCapacity(records.count + Int(header.recordCount))
        var iterator = batch.makeRecordIterator()
        while let record = try iterator.next() {
            guard record.offset >= fetchOffset else { continue }
            records.append(ConsumerRecord(
                topic: topic, partition: partition, offset: record.offset, timestamp: record.timestamp, timestampType: timestampType,
                key: record.key, value: record.value, headers: record.headers, leaderEpoch: epoch))
        }
    }
}

import KafkaProtocol
import NIOCore

/// One partition's records from a Fetch response, ready for the application.
struct DecodedPartitionRecords: Sendable {
    /// The records in order, cut into pieces of at most the decoder's piece size, so that
    /// `poll` can hand a piece over whole instead of copying records out of a larger array.
    var pieces: [[ConsumerRecord]] = []
    /// Where the next fetch of the partition starts: past the last complete batch, including
    /// skipped control and aborted batches; the fetch offset when no batch was complete.
    var nextFetchOffset: Int64
    /// Bytes of the fetched data (compressed), for the prefetch buffer's accounting.
    var fetchedBytes: Int
    /// Set when a batch failed to decode; `pieces` hold what preceded it.
    var corruption: KafkaConsumerError?

    /// All records in one array.
    var records: [ConsumerRecord] { Array(pieces.joined()) }
    var recordCount: Int { pieces.reduce(0) { $0 + $1.count } }
}

/// Collects records into arrays of at most `pieceSize`, each allocated once at its final size.
private struct PieceBuilder {
    let pieceSize: Int
    /// Records still expected (from the batch headers), to size the last piece.
    var expected: Int
    var pieces: [[ConsumerRecord]] = []
    var current: [ConsumerRecord] = []
    var count = 0

    @inline(__always)
    mutating func append(_ record: consuming ConsumerRecord) {
        if current.count == pieceSize {
            pieces.append(current)
            current = []
        }
        if current.isEmpty { current.reserveCapacity(max(1, min(pieceSize, expected))) }
        current.append(consume record)
        count += 1
        expected -= 1
    }

    /// Drops records appended after the first `target`.
    mutating func truncate(to target: Int) {
        while count > target {
            if current.isEmpty { current = pieces.removeLast() }
            current.removeLast()
            count -= 1
        }
    }

    consuming func finish() -> [[ConsumerRecord]] {
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }
}

/// Turns a partition's `records` bytes into `ConsumerRecord`s: batches before the fetch
/// offset's position are trimmed, control batches and (read_committed) aborted transactions
/// dropped, and keys and values left as slices of the fetched or decompressed bytes.
enum FetchedPartitionDecoder {
    /// - Parameter pieceSize: the most records per piece of the result.
    static func decode(topic: String, partition: Int32, records bytes: ByteBuffer, fetchOffset: Int64,
                       abortedTransactions: [FetchResponse.AbortedTransaction]?, readCommitted: Bool,
                       options: RecordDecodingOptions, pieceSize: Int = .max) -> DecodedPartitionRecords {
        var result = DecodedPartitionRecords(nextFetchOffset: fetchOffset, fetchedBytes: bytes.readableBytes, corruption: nil)
        var output = PieceBuilder(pieceSize: max(1, pieceSize), expected: declaredRecordCount(bytes))
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
            let recordsBefore = output.count
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
                        try append(batch, topic: topic, partition: partition, from: fetchOffset, to: &output)
                    } else {
                        output.expected -= Int(header.recordCount)
                    }
                    result.nextFetchOffset = max(result.nextFetchOffset, header.nextOffset)
                case let .legacy(legacy):
                    for record in legacy.records where record.offset >= fetchOffset {
                        output.append(ConsumerRecord(
                            topic: topic, partition: partition, offset: record.offset, timestamp: record.timestamp,
                            timestampType: legacy.timestampType, key: record.key, value: record.value))
                    }
                    result.nextFetchOffset = max(result.nextFetchOffset, legacy.lastOffset + 1)
                }
            } catch {
                // Nothing of a batch that fails part-way is delivered: the error names its position.
                output.truncate(to: recordsBefore)
                result.corruption = .corruptRecord(TopicPartition(topic, partition), offset: max(result.nextFetchOffset, entry.baseOffset), reason: "\(error)")
                break
            }
        }
        result.pieces = output.finish()
        return result
    }

    /// The record counts the complete magic-2 batch headers declare, read without decoding
    /// anything, so the output arrays are allocated once.
    static func declaredRecordCount(_ bytes: ByteBuffer) -> Int {
        var index = bytes.readerIndex
        var total = 0
        while bytes.writerIndex - index >= RecordBatchHeader.size {
            guard let length = bytes.getInteger(at: index + RecordBatchHeader.Layout.batchLength, as: Int32.self), length > 0,
                  bytes.getInteger(at: index + RecordBatchHeader.Layout.magic, as: Int8.self) == RecordBatchHeader.magicValue,
                  let count = bytes.getInteger(at: index + RecordBatchHeader.Layout.recordCount, as: Int32.self), count > 0 else { break }
            let size = RecordBatchHeader.logOverhead + Int(length)
            guard size <= bytes.writerIndex - index else { break }
            total += Int(count)
            index += size
        }
        return total
    }

    @inline(__always)
    private static func append(_ batch: RecordBatch, topic: String, partition: Int32, from fetchOffset: Int64,
                               to output: inout PieceBuilder) throws {
        let header = batch.header
        let timestampType = header.timestampType
        let epoch: Int32? = header.partitionLeaderEpoch >= 0 ? header.partitionLeaderEpoch : nil
        try batch.consumeRecords { record in
            guard record.offset >= fetchOffset else {
                output.expected -= 1
                return
            }
            let offset = record.offset
            let timestamp = record.timestamp
            // Move the slices out of the decoded record rather than copy them (a copy costs a
            // retain now and a release when the record goes).
            let contents = record.takeContents()
            output.append(ConsumerRecord(
                topic: topic, partition: partition, offset: offset, timestamp: timestamp, timestampType: timestampType,
                key: contents.key, value: contents.value, headers: contents.headers, leaderEpoch: epoch))
        }
    }
}

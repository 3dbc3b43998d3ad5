import KafkaProtocol
import NIOCore
import Synchronization

/// A committed consumer offset.
struct CommittedOffset: Equatable, Sendable {
    var offset: Int64
    var leaderEpoch: Int32
    var metadata: String?
    var commitTimestamp: Int64
}

/// Committed offsets of every group, kept in memory and written to the compacted internal
/// topic `__consumer_offsets` in Kafka's record format, from which they are restored on start.
///
/// Offsets committed inside a transaction (TxnOffsetCommit) are written as transactional
/// records and become visible only when the transaction's commit marker lands.
final class OffsetStore: Sendable {
    static let topicName = "__consumer_offsets"

    private struct State {
        var committed: [String: [TopicPartition: CommittedOffset]] = [:]
        /// producer id → offsets waiting for that producer's transaction to end.
        var pending: [Int64: [(group: String, partition: TopicPartition, offset: CommittedOffset)]] = [:]
    }

    private let log: PartitionState
    private let state = Mutex(State())

    init(log: PartitionState) throws {
        self.log = log
        try replay()
    }

    // MARK: Record format (key version 1, value version 3, as Kafka writes them)

    static func key(group: String, partition: TopicPartition) -> ByteBuffer {
        var key = ByteBuffer()
        key.writeInteger(Int16(1))
        try? key.writeKafkaString(group, compact: false)
        try? key.writeKafkaString(partition.topic, compact: false)
        key.writeInteger(partition.partition)
        return key
    }

    static func value(_ offset: CommittedOffset) -> ByteBuffer {
        var value = ByteBuffer()
        value.writeInteger(Int16(3))
        value.writeInteger(offset.offset)
        value.writeInteger(offset.leaderEpoch)
        try? value.writeKafkaString(offset.metadata ?? "", compact: false)
        value.writeInteger(offset.commitTimestamp)
        return value
    }

    static func parse(key: ByteBuffer, value: ByteBuffer?) -> (group: String, partition: TopicPartition, offset: CommittedOffset?)? {
        var key = key
        guard let version = key.readInteger(as: Int16.self), version <= 1,
              let group = try? key.readKafkaString(compact: false, context: "group"),
              let topic = try? key.readKafkaString(compact: false, context: "topic"),
              let partition = key.readInteger(as: Int32.self) else { return nil }
        let tp = TopicPartition(topic: topic, partition: partition)
        guard var value else { return (group, tp, nil) }
        guard let valueVersion = value.readInteger(as: Int16.self), let offset = value.readInteger(as: Int64.self) else { return nil }
        var leaderEpoch: Int32 = -1
        if valueVersion >= 3 { leaderEpoch = value.readInteger(as: Int32.self) ?? -1 }
        let metadata = try? value.readKafkaNullableString(compact: false, context: "metadata")
        let timestamp = value.readInteger(as: Int64.self) ?? -1
        return (group, tp, CommittedOffset(offset: offset, leaderEpoch: leaderEpoch, metadata: metadata ?? nil, commitTimestamp: timestamp))
    }

    // MARK: Writes

    func commit(group: String, offsets: [(TopicPartition, CommittedOffset)]) throws {
        guard !offsets.isEmpty else { return }
        try append(offsets.map { (group, $0.0, $0.1) }, producerId: -1, producerEpoch: -1)
        state.withLock { state in
            for (partition, offset) in offsets { state.committed[group, default: [:]][partition] = offset }
        }
    }

    /// Stages offsets of a transaction; they apply when `completeTransaction(producerId:commit:)` commits.
    func stageTransactional(producerId: Int64, producerEpoch: Int16, group: String, offsets: [(TopicPartition, CommittedOffset)]) throws {
        guard !offsets.isEmpty else { return }
        try append(offsets.map { (group, $0.0, $0.1) }, producerId: producerId, producerEpoch: producerEpoch)
        state.withLock { state in
            state.pending[producerId, default: []] += offsets.map { (group, $0.0, $0.1) }
        }
    }

    /// Writes the transaction marker to the offsets log and applies or drops the staged offsets.
    func completeTransaction(producerId: Int64, producerEpoch: Int16, commit: Bool, coordinatorEpoch: Int32) throws {
        try log.writeMarker(producerId: producerId, producerEpoch: producerEpoch, commit: commit, coordinatorEpoch: coordinatorEpoch, nowMs: BrokerCore.nowMs())
        resolve(producerId: producerId, commit: commit)
    }

    private func resolve(producerId: Int64, commit: Bool) {
        state.withLock { state in
            guard let staged = state.pending.removeValue(forKey: producerId), commit else { return }
            for entry in staged { state.committed[entry.group, default: [:]][entry.partition] = entry.offset }
        }
    }

    private func append(_ entries: [(String, TopicPartition, CommittedOffset)], producerId: Int64, producerEpoch: Int16) throws {
        let now = BrokerCore.nowMs()
        var builder = RecordBatchBuilder(producerId: producerId, producerEpoch: producerEpoch, baseSequence: -1, isTransactional: producerId >= 0)
        for (group, partition, offset) in entries {
            try builder.append(timestamp: now, key: Self.key(group: group, partition: partition), value: Self.value(offset))
        }
        _ = try log.append(try builder.build(), nowMs: now)
    }

    // MARK: Reads

    func committed(group: String) -> [TopicPartition: CommittedOffset] {
        state.withLock { $0.committed[group] ?? [:] }
    }

    func hasPendingTransactionalOffset(group: String, partition: TopicPartition) -> Bool {
        state.withLock { state in
            state.pending.values.contains { $0.contains { $0.group == group && $0.partition == partition } }
        }
    }

    var groupIds: [String] { state.withLock { Array($0.committed.keys) } }

    /// Rebuilds committed and staged offsets from the log.
    private func replay() throws {
        var offset = log.logStartOffset
        let end = log.logEndOffset
        while offset < end {
            let chunk = try log.fetch(from: offset, maxBytes: 1 << 20, readCommitted: false)
            guard var records = chunk.records, records.readableBytes > 0 else { break }
            while records.readableBytes > 0 {
                guard let batch = try? RecordBatch.decode(from: &records) else { break }
                offset = batch.lastOffset + 1
                if batch.isControl {
                    if let kind = TransactionMarkers.kind(of: batch) {
                        resolve(producerId: batch.header.producerId, commit: kind == .commit)
                    }
                    continue
                }
                try batch.forEachRecord { record in
                    guard let key = record.key, let parsed = Self.parse(key: key, value: record.value) else { return }
                    state.withLock { state in
                        if batch.isTransactional {
                            if let value = parsed.offset {
                                state.pending[batch.header.producerId, default: []].append((parsed.group, parsed.partition, value))
                            }
                        } else if let value = parsed.offset {
                            state.committed[parsed.group, default: [:]][parsed.partition] = value
                        } else {
                            state.committed[parsed.group]?[parsed.partition] = nil
                        }
                    }
                }
            }
        }
    }
}


import Foundation
import KafkaProtocol
import NIOCore
@testable import KafkaBroker

/// A partition log in a temporary directory, opened and reopened as the broker would.
final class TestLog {
    let directory: String
    var config: LogConfig
    private(set) var state: PartitionState

    init(configure: (inout LogConfig) -> Void = { _ in }) throws {
        directory = NSTemporaryDirectory() + "rivulet-broker-tests-" + UUID().uuidString + "/p-0"
        var config = LogConfig()
        config.cleanupPolicy = .compact
        config.segmentBytes = 1024
        config.indexIntervalBytes = 256
        configure(&config)
        self.config = config
        state = try Self.open(directory, config, recover: false)
    }

    deinit { try? POSIXFile.removeDirectory(String(directory.dropLast(4))) }

    static func open(_ directory: String, _ config: LogConfig, recover: Bool) throws -> PartitionState {
        let log = try PartitionLog(directory: directory, config: config, recover: recover, nowMs: 0)
        return try PartitionState(topic: "t", partition: 0, log: log)
    }

    /// Drops the open log and opens the directory again, as after a restart.
    func reopen(recover: Bool = false) throws {
        state = try Self.open(directory, config, recover: recover)
    }

    /// Appends one batch of `(key, value, timestamp)` records and returns the offset of each record.
    @discardableResult
    func append(_ records: [(key: String?, value: String?, timestamp: Int64)], compression: CompressionCodec = .none,
                producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
                transactional: Bool = false) throws -> [Int64] {
        var builder = RecordBatchBuilder(compression: compression, producerId: producerId, producerEpoch: producerEpoch,
                                         baseSequence: baseSequence, isTransactional: transactional)
        for record in records {
            try builder.append(timestamp: record.timestamp, key: record.key.map { ByteBuffer(string: $0) },
                               value: record.value.map { ByteBuffer(string: $0) })
        }
        let result = try state.append(try builder.build(), nowMs: records.last?.timestamp ?? 0)
        return (0..<records.count).map { result.baseOffset + Int64($0) }
    }

    /// Every record from the log start, in offset order, as `offset → (key, value, timestamp)`.
    func readAll(from start: Int64? = nil, readCommitted: Bool = false) throws -> [StoredRecord] {
        var offset = start ?? state.logStartOffset
        var out: [StoredRecord] = []
        while true {
            let fetched = try state.fetch(from: offset, maxBytes: 4096, readCommitted: readCommitted)
            guard var bytes = fetched.records, bytes.readableBytes > 0 else { break }
            while bytes.readableBytes > 0 {
                let batch = try RecordBatch.decode(from: &bytes)
                if batch.isControl {
                    out.append(StoredRecord(offset: batch.baseOffset, key: nil, value: nil, timestamp: batch.header.maxTimestamp, isControl: true))
                } else {
                    try batch.forEachRecord { record in
                        guard record.offset >= offset else { return }
                        out.append(StoredRecord(offset: record.offset, key: record.key.map { String(buffer: $0) },
                                                value: record.value.map { String(buffer: $0) }, timestamp: record.timestamp, isControl: false))
                    }
                }
                offset = batch.lastOffset + 1
            }
        }
        return out
    }

    var segmentFiles: [String] {
        ((try? POSIXFile.listDirectory(directory)) ?? []).filter { $0.hasSuffix(".log") }
    }

    var allFiles: [String] { (try? POSIXFile.listDirectory(directory)) ?? [] }
}

struct StoredRecord: Equatable, CustomStringConvertible {
    var offset: Int64
    var key: String?
    var value: String?
    var timestamp: Int64
    var isControl: Bool

    var description: String { isControl ? "\(offset):<control>" : "\(offset):\(key ?? "∅")=\(value ?? "∅")" }
}

/// What was written, kept by the test on its own: `offset → (key, value)`.
struct WrittenLog {
    var records: [Int64: (key: String, value: String?)] = [:]

    mutating func add(_ offsets: [Int64], _ batch: [(key: String?, value: String?, timestamp: Int64)]) {
        for (offset, record) in zip(offsets, batch) { records[offset] = (record.key!, record.value) }
    }

    /// For every key, the offset of its newest write below `end`.
    func latestOffsets(below end: Int64) -> [String: Int64] {
        var latest: [String: Int64] = [:]
        for (offset, record) in records where offset < end {
            if offset > latest[record.key] ?? -1 { latest[record.key] = offset }
        }
        return latest
    }
}

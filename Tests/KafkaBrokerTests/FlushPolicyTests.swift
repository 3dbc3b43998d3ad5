import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaBroker

/// The fsync policy of a partition log: `flush.messages` (every N batches) and `flush.ms`
/// (on the housekeeping tick once the interval has passed).
@Suite struct FlushPolicyTests {
    final class ScratchLog {
        let root = NSTemporaryDirectory() + "rivulet-flush-tests-" + UUID().uuidString
        let log: PartitionLog

        init(_ configure: (inout LogConfig) -> Void) throws {
            var config = LogConfig()
            configure(&config)
            log = try PartitionLog(directory: root + "/t-0", config: config, recover: false, nowMs: 0)
        }

        deinit { try? POSIXFile.removeDirectory(root) }

        func append(nowMs: Int64) throws {
            var builder = RecordBatchBuilder()
            try builder.append(timestamp: nowMs, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"))
            let records = try builder.build()
            _ = try log.append(records, batches: try log.validate(records), nowMs: nowMs)
        }
    }

    @Test func flushMessagesOneSyncsEveryBatch() throws {
        let scratch = try ScratchLog { $0.flushMessages = 1 }
        for i in 0..<3 {
            try scratch.append(nowMs: Int64(i))
            #expect(scratch.log.unflushedBatches == 0)
        }
    }

    @Test func flushMessagesNSyncsEveryNthBatch() throws {
        let scratch = try ScratchLog { $0.flushMessages = 3 }
        var counts: [Int] = []
        for i in 0..<7 {
            try scratch.append(nowMs: Int64(i))
            counts.append(scratch.log.unflushedBatches)
        }
        #expect(counts == [1, 2, 0, 1, 2, 0, 1])
    }

    @Test func flushMsSyncsOnceTheIntervalHasPassed() throws {
        let scratch = try ScratchLog { $0.flushMessages = Int.max; $0.flushMs = 1_000 }
        for now in [100, 200, 300] as [Int64] { try scratch.append(nowMs: now) }
        #expect(scratch.log.unflushedBatches == 3)
        try scratch.log.flush(nowMs: 999, force: false)
        #expect(scratch.log.unflushedBatches == 3)
        try scratch.log.flush(nowMs: 1_000, force: false)
        #expect(scratch.log.unflushedBatches == 0)
        try scratch.append(nowMs: 1_100)
        try scratch.log.flush(nowMs: 1_500, force: false)
        #expect(scratch.log.unflushedBatches == 1)
        try scratch.log.flush(nowMs: 2_000, force: false)
        #expect(scratch.log.unflushedBatches == 0)
    }

    @Test func theTopicConfigsSetThePolicy() throws {
        var config = LogConfig()
        try config.set("flush.messages", "1")
        try config.set("flush.ms", "250")
        #expect(config.flushMessages == 1)
        #expect(config.flushMs == 250)
        #expect(throws: LogConfigError.self) { try config.set("flush.ms", "often") }
    }
}

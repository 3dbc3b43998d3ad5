import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaBroker

/// Idempotent producers on one partition: a retried batch is answered with its original offsets
/// and not written twice; a gap is refused with OUT_OF_ORDER_SEQUENCE_NUMBER; an older epoch is fenced.
@Suite struct ProducerSequenceTests {
    @Test func aRetriedBatchIsAnsweredWithItsOriginalOffsetsAndWrittenOnce() throws {
        let log = try TestLog { $0.cleanupPolicy = .delete }
        let first = try log.append([("a", "1", 1_000), ("b", "2", 1_000)], producerId: 9, producerEpoch: 0, baseSequence: 0)
        #expect(first == [0, 1])
        let retried = try log.append([("a", "1", 1_000), ("b", "2", 1_000)], producerId: 9, producerEpoch: 0, baseSequence: 0)
        #expect(retried == first)
        #expect(log.state.logEndOffset == 2)
        #expect(try log.readAll().map(\.value) == ["1", "2"])

        #expect {
            try log.append([("c", "gap", 1_000)], producerId: 9, producerEpoch: 0, baseSequence: 5)
        } throws: { error in
            (error as? AppendError)?.code == .outOfOrderSequenceNumber
        }
        #expect(try log.append([("c", "3", 1_000)], producerId: 9, producerEpoch: 0, baseSequence: 2) == [2])

        // The producer's state is rebuilt from the log: after a restart the retry is still recognised.
        try log.reopen(recover: true)
        #expect(try log.append([("c", "3", 1_000)], producerId: 9, producerEpoch: 0, baseSequence: 2) == [2])
        #expect(log.state.logEndOffset == 3)
    }

    @Test func anOlderEpochIsFencedOnceANewerOneHasWritten() throws {
        let log = try TestLog { $0.cleanupPolicy = .delete }
        try log.append([("a", "epoch 0", 1_000)], producerId: 4, producerEpoch: 0, baseSequence: 0)
        try log.append([("a", "epoch 1", 1_000)], producerId: 4, producerEpoch: 1, baseSequence: 0)
        #expect {
            try log.append([("a", "zombie", 1_000)], producerId: 4, producerEpoch: 0, baseSequence: 1)
        } throws: { error in
            (error as? AppendError)?.code == .invalidProducerEpoch
        }
        #expect(try log.readAll().map(\.value) == ["epoch 0", "epoch 1"])
    }
}

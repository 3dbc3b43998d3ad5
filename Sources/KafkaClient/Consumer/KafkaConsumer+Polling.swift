import KafkaProtocol

extension KafkaConsumer {
    /// Records fetched since the last poll, up to `maxPollRecords`, waiting up to `timeout`
    /// when none are ready. Returns an empty array when the time runs out.
    ///
    /// Partitions take turns, so one busy partition does not starve the others. Each returned
    /// record advances its partition's position.
    ///
    /// - Throws: `KafkaConsumerError` for a partition without a usable offset under
    ///   `auto.offset.reset=none`, a corrupt record, a fatal group error, or `closed`.
    public func poll(timeout: Duration = .milliseconds(500)) async throws -> [ConsumerRecord] {
        let deadline = ContinuousClock.now + timeout
        lastPollAt = .now
        while true {
            try ensureOpen()
            if let fatal = membership.fatalError { throw fatal }
            if !pendingErrors.isEmpty { throw pendingErrors.removeFirst() }
            let records = takeRecords(limit: max(1, configuration.maxPollRecords))
            if !records.isEmpty {
                wakeupRequested = false
                scheduleFetches()
                return records
            }
            let now = ContinuousClock.now
            if wakeupRequested || now >= deadline || Task.isCancelled {
                wakeupRequested = false
                return []
            }
            await dataSignal.wait(timeout: deadline - now)
        }
    }

    /// Makes the `poll` in progress return now, empty unless records are ready; without one in
    /// progress, the next `poll` does (as Java's `KafkaConsumer.wakeup()`, but without an error).
    /// For a caller with work to do between polls that appeared while it was polling, such as
    /// state to restore for partitions a rebalance assigned it.
    public func wakeup() {
        wakeupRequested = true
        dataSignal.signal()
    }

    /// Records of `partition` fetched and not yet handed out by `poll`.
    func bufferedRecordCount(of partition: TopicPartition) -> Int {
        partitions[partition]?.bufferedRecords ?? 0
    }

    /// Hands out buffered records, partition by partition, advancing positions.
    ///
    /// Chunks are at most `maxPollRecords` long (the decoder cuts them so), and a whole chunk
    /// is handed over as its array, without copying; records are copied only to top up a
    /// result that is less than half full.
    func takeRecords(limit: Int) -> [ConsumerRecord] {
        var result: [ConsumerRecord] = []
        var visited = 0
        while result.count < limit, visited < partitionOrder.count {
            if pollCursor >= partitionOrder.count { pollCursor = 0 }
            let partition = partitionOrder[pollCursor]
            pollCursor += 1
            visited += 1
            guard var state = partitions[partition], state.hasDeliverableRecords else { continue }
            while result.count < limit, var chunk = state.chunks.first {
                let take = min(limit - result.count, chunk.remaining)
                if take > 0 {
                    if result.isEmpty && chunk.next == 0 && take == chunk.records.count {
                        result = chunk.records
                    } else {
                        result.append(contentsOf: chunk.records[chunk.next..<(chunk.next + take)])
                    }
                    chunk.next += take
                    state.bufferedRecords -= take
                    let last = chunk.records[chunk.next - 1]
                    state.position = last.offset + 1
                    state.positionLeaderEpoch = last.leaderEpoch
                }
                if chunk.remaining == 0 {
                    // Past the chunk's skipped control and aborted batches too.
                    state.position = max(state.position, chunk.nextFetchOffset)
                    state.chunks.removeFirst()
                    state.bufferedBytes -= chunk.bytes
                    bufferedBytes -= chunk.bytes
                } else {
                    state.chunks[0] = chunk
                }
                if result.count * 2 >= limit { break }
            }
            partitions[partition] = state
            if result.count * 2 >= limit { break }
        }
        return result
    }
}

/// The records of a consumer, one at a time, as an async sequence: each step polls when the
/// previous batch is used up. The sequence ends when the consumer is closed; other errors are thrown.
public struct ConsumerRecordSequence: AsyncSequence, Sendable {
    public typealias Element = ConsumerRecord
    let consumer: KafkaConsumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        var batch: [ConsumerRecord] = []
        var index = 0

        public mutating func next() async throws -> ConsumerRecord? {
            while index == batch.count {
                do {
                    batch = try await consumer.poll(timeout: .seconds(1))
                } catch KafkaConsumerError.closed {
                    return nil
                }
                index = 0
                if Task.isCancelled { return nil }
            }
            defer { index += 1 }
            return batch[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer)
    }
}

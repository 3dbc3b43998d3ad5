import KafkaProtocol
import NIOCore

extension BrokerCore {
    func fetch(_ request: FetchRequest, _ context: RequestContext) async throws -> FetchResponse {
        let readCommitted = request.isolationLevel == 1
        let deadline = ContinuousClock.now + .milliseconds(max(0, Int64(request.maxWaitMs)))
        while true {
            // Take the signal's generation before reading, so an append racing the read wakes us.
            let generation = appendSignal.generation
            let (response, bytes) = readOnce(request, readCommitted: readCommitted)
            let now = ContinuousClock.now
            if bytes >= Int(request.minBytes) || bytes > 0 && request.minBytes <= 1 || now >= deadline || response.errorCode != 0 {
                return response
            }
            await appendSignal.wait(after: generation, timeout: deadline - now)
            if Task.isCancelled { return response }
        }
    }

    /// One pass over the requested partitions, within the request's byte limits.
    private func readOnce(_ request: FetchRequest, readCommitted: Bool) -> (FetchResponse, Int) {
        var remaining = Int(request.maxBytes)
        var total = 0
        var topicsOut: [FetchResponse.FetchableTopicResponse] = []
        topicsOut.reserveCapacity(request.topics.count)
        for topicRequest in request.topics {
            let topic = topics.topic(named: topicRequest.topic)
            var partitionsOut: [FetchResponse.PartitionData] = []
            partitionsOut.reserveCapacity(topicRequest.partitions.count)
            for partitionRequest in topicRequest.partitions {
                var out = FetchResponse.PartitionData(partitionIndex: partitionRequest.partition, errorCode: 0, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1)
                guard let topic, partitionRequest.partition >= 0, Int(partitionRequest.partition) < topic.partitions.count else {
                    out.errorCode = KafkaErrorCode.unknownTopicOrPartition.rawValue
                    partitionsOut.append(out)
                    continue
                }
                let partition = topic.partitions[Int(partitionRequest.partition)]
                // KIP-74: the first partition with data returns at least one whole batch even past the limits.
                let limit = total == 0 ? Int(partitionRequest.partitionMaxBytes) : min(Int(partitionRequest.partitionMaxBytes), remaining)
                do {
                    let result = try partition.fetch(from: partitionRequest.fetchOffset, maxBytes: max(limit, 0), readCommitted: readCommitted)
                    out.highWatermark = result.highWatermark
                    out.lastStableOffset = result.lastStableOffset
                    out.logStartOffset = result.logStartOffset
                    if readCommitted {
                        out.abortedTransactions = result.abortedTransactions.map {
                            FetchResponse.AbortedTransaction(producerId: $0.producerId, firstOffset: $0.firstOffset)
                        }
                    }
                    if limit > 0 || total == 0, let records = result.records {
                        out.records = records
                        total += records.readableBytes
                        remaining -= records.readableBytes
                    } else {
                        out.records = ByteBuffer()
                    }
                } catch {
                    switch error {
                    case let .offsetOutOfRange(logStartOffset, logEndOffset):
                        out.errorCode = KafkaErrorCode.offsetOutOfRange.rawValue
                        out.logStartOffset = logStartOffset
                        out.highWatermark = logEndOffset
                    case .storage:
                        out.errorCode = KafkaErrorCode.kafkaStorageError.rawValue
                    }
                }
                if out.records == nil { out.records = ByteBuffer() }
                partitionsOut.append(out)
            }
            topicsOut.append(FetchResponse.FetchableTopicResponse(topic: topicRequest.topic, partitions: partitionsOut))
        }
        return (FetchResponse(errorCode: 0, sessionId: 0, responses: topicsOut), total)
    }
}

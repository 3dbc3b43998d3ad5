import KafkaProtocol

extension BrokerCore {
    func produce(_ request: ProduceRequest, _ context: RequestContext) async throws -> ProduceResponse {
        let acksValid = request.acks == 0 || request.acks == 1 || request.acks == -1
        let now = Self.nowMs()
        var appended = false
        var rolled = false
        var responses: [ProduceResponse.TopicProduceResponse] = []
        responses.reserveCapacity(request.topicData.count)
        for topicData in request.topicData {
            var partitions: [ProduceResponse.PartitionProduceResponse] = []
            partitions.reserveCapacity(topicData.partitionData.count)
            for data in topicData.partitionData {
                var result = ProduceResponse.PartitionProduceResponse(index: data.index, errorCode: 0, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1)
                func fail(_ code: KafkaErrorCode, _ message: String) {
                    result.errorCode = code.rawValue
                    result.errorMessage = message
                }
                if !acksValid {
                    fail(.invalidRequiredAcks, "acks must be 0, 1 or -1, got \(request.acks)")
                } else if let partition = topics.partition(topicData.name, data.index) {
                    if let records = data.records {
                        do {
                            let appendResult = try partition.append(records, nowMs: now)
                            result.baseOffset = appendResult.baseOffset
                            result.logAppendTimeMs = appendResult.logAppendTime
                            result.logStartOffset = partition.logStartOffset
                            appended = true
                            rolled = rolled || appendResult.rolledSegment
                        } catch {
                            fail(error.code, error.message)
                        }
                    } else {
                        fail(.corruptMessage, "null records")
                    }
                } else {
                    fail(.unknownTopicOrPartition, "unknown topic or partition \(topicData.name)-\(data.index)")
                }
                partitions.append(result)
            }
            responses.append(ProduceResponse.TopicProduceResponse(name: topicData.name, partitionResponses: partitions))
        }
        if appended { appendSignal.notifyAll() }
        // A new closed segment may make a compacted partition due for cleaning.
        if rolled { cleaner.wake() }
        return ProduceResponse(responses: responses)
    }
}

import KafkaProtocol

extension BrokerCore {
    /// Special timestamps of ListOffsets.
    enum OffsetSpec {
        static let latest: Int64 = -1
        static let earliest: Int64 = -2
        static let maxTimestamp: Int64 = -3
        static let earliestLocal: Int64 = -4
        static let latestTiered: Int64 = -5
    }

    func listOffsets(_ request: ListOffsetsRequest, _ context: RequestContext) async throws -> ListOffsetsResponse {
        let readCommitted = request.isolationLevel == 1
        return ListOffsetsResponse(topics: request.topics.map { topicRequest in
            ListOffsetsResponse.ListOffsetsTopicResponse(name: topicRequest.name, partitions: topicRequest.partitions.map { p in
                var out = ListOffsetsResponse.ListOffsetsPartitionResponse(partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1, offset: -1, leaderEpoch: 0)
                guard let partition = topics.partition(topicRequest.name, p.partitionIndex) else {
                    out.errorCode = KafkaErrorCode.unknownTopicOrPartition.rawValue
                    return out
                }
                switch p.timestamp {
                case OffsetSpec.latest, OffsetSpec.latestTiered:
                    out.offset = partition.endOffset(readCommitted: readCommitted)
                case OffsetSpec.earliest, OffsetSpec.earliestLocal:
                    out.offset = partition.logStartOffset
                case OffsetSpec.maxTimestamp:
                    // The first record carrying the largest timestamp.
                    let max = partition.maxTimestamp
                    if max >= 0, let found = try? partition.firstRecord(atOrAfter: max) {
                        out.timestamp = found.timestamp
                        out.offset = found.offset
                    }
                default:
                    // The first record whose timestamp reaches the target, and its own timestamp.
                    if p.timestamp >= 0, let found = try? partition.firstRecord(atOrAfter: p.timestamp),
                       found.offset < partition.endOffset(readCommitted: readCommitted) {
                        out.offset = found.offset
                        out.timestamp = found.timestamp
                    }
                }
                return out
            })
        })
    }
}

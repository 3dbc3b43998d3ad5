import KafkaProtocol

extension BrokerCore {
    func initProducerId(_ request: InitProducerIdRequest, _ context: RequestContext) async throws -> InitProducerIdResponse {
        await transactions.initProducerId(request)
    }

    func addPartitionsToTxn(_ request: AddPartitionsToTxnRequest, _ context: RequestContext) async throws -> AddPartitionsToTxnResponse {
        let requested = request.v3AndBelowTopics.flatMap { topic in topic.partitions.map { TopicPartition(topic: topic.name, partition: $0) } }
        let results = await transactions.addPartitions(
            transactionalId: request.v3AndBelowTransactionalId, producerId: request.v3AndBelowProducerId,
            producerEpoch: request.v3AndBelowProducerEpoch, partitions: requested)
        // Clients older than KIP-588 (version < 2) know the fencing error as INVALID_PRODUCER_EPOCH.
        func compatible(_ code: KafkaErrorCode) -> Int16 {
            (code == .producerFenced && context.version < 2 ? KafkaErrorCode.invalidProducerEpoch : code).rawValue
        }
        return AddPartitionsToTxnResponse(resultsByTopicV3AndBelow: request.v3AndBelowTopics.map { topic in
            AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult(name: topic.name, resultsByPartition: topic.partitions.map { partition in
                AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult(
                    partitionIndex: partition,
                    partitionErrorCode: compatible(results[TopicPartition(topic: topic.name, partition: partition)] ?? .noError))
            })
        })
    }

    func addOffsetsToTxn(_ request: AddOffsetsToTxnRequest, _ context: RequestContext) async throws -> AddOffsetsToTxnResponse {
        let code = await transactions.addOffsets(transactionalId: request.transactionalId, producerId: request.producerId,
                                                 producerEpoch: request.producerEpoch, groupId: request.groupId)
        return AddOffsetsToTxnResponse(errorCode: (code == .producerFenced && context.version < 2 ? .invalidProducerEpoch : code).rawValue)
    }

    func endTxn(_ request: EndTxnRequest, _ context: RequestContext) async throws -> EndTxnResponse {
        let code = await transactions.endTransaction(transactionalId: request.transactionalId, producerId: request.producerId,
                                                     producerEpoch: request.producerEpoch, commit: request.committed)
        if code == .noError { appendSignal.notifyAll() }
        return EndTxnResponse(errorCode: (code == .producerFenced && context.version < 2 ? .invalidProducerEpoch : code).rawValue)
    }

    func txnOffsetCommit(_ request: TxnOffsetCommitRequest, _ context: RequestContext) async throws -> TxnOffsetCommitResponse {
        var code = await transactions.isOffsetsPartitionInTransaction(
            transactionalId: request.transactionalId, producerId: request.producerId, producerEpoch: request.producerEpoch)
        if code == .producerFenced && context.version < 2 { code = .invalidProducerEpoch }
        if code == .noError, context.version >= 3, request.generationId >= 0 || !request.memberId.isEmpty {
            // KIP-447: the group coordinator fences zombie members by generation.
            code = await groups.validateCommit(groupId: request.groupId, generationId: request.generationId,
                                               memberId: request.memberId, groupInstanceId: request.groupInstanceId)
        }
        if code == .noError {
            let now = Self.nowMs()
            let entries = request.topics.flatMap { topic in
                topic.partitions.map {
                    (TopicPartition(topic: topic.name, partition: $0.partitionIndex),
                     CommittedOffset(offset: $0.committedOffset, leaderEpoch: $0.committedLeaderEpoch, metadata: $0.committedMetadata, commitTimestamp: now))
                }
            }
            do {
                try offsets.stageTransactional(producerId: request.producerId, producerEpoch: request.producerEpoch, group: request.groupId, offsets: entries)
            } catch {
                code = .kafkaStorageError
            }
        }
        return TxnOffsetCommitResponse(topics: request.topics.map { topic in
            TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic(name: topic.name, partitions: topic.partitions.map {
                TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition(partitionIndex: $0.partitionIndex, errorCode: code.rawValue)
            })
        })
    }
}

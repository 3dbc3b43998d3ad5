import KafkaProtocol

extension BrokerCore {
    func metadata(_ request: MetadataRequest, _ context: RequestContext) async throws -> MetadataResponse {
        let broker = MetadataResponse.MetadataResponseBroker(nodeId: configuration.nodeId, host: advertisedHost, port: advertisedPort, rack: nil)
        var topicsOut: [MetadataResponse.MetadataResponseTopic] = []
        if let requested = request.topics {
            // Version 0 has no null topic list: an empty list there means "all topics".
            if requested.isEmpty && context.version == 0 {
                topicsOut = topics.all.map(describe)
            }
            for entry in requested {
                let name = entry.name ?? topics.topic(withId: entry.topicId)?.name
                guard let name else {
                    topicsOut.append(MetadataResponse.MetadataResponseTopic(errorCode: KafkaErrorCode.unknownTopicId.rawValue, name: nil, topicId: entry.topicId))
                    continue
                }
                // Version 4 added the flag; before it auto-creation was always allowed.
                let allowCreate = context.version < 4 || request.allowAutoTopicCreation
                if let topic = topicForUse(name, autoCreate: allowCreate) {
                    topicsOut.append(describe(topic))
                } else {
                    let code: KafkaErrorCode = (try? TopicRegistry.validate(name: name)) == nil ? .invalidTopic : .unknownTopicOrPartition
                    topicsOut.append(MetadataResponse.MetadataResponseTopic(errorCode: code.rawValue, name: name))
                }
            }
        } else {
            topicsOut = topics.all.map(describe)
        }
        return MetadataResponse(
            brokers: [broker], clusterId: configuration.clusterId, controllerId: configuration.nodeId, topics: topicsOut)
    }

    private func describe(_ topic: Topic) -> MetadataResponse.MetadataResponseTopic {
        let node = configuration.nodeId
        return MetadataResponse.MetadataResponseTopic(
            errorCode: 0, name: topic.name, topicId: topic.id, isInternal: topic.isInternal,
            partitions: topic.partitions.map { partition in
                MetadataResponse.MetadataResponsePartition(
                    errorCode: 0, partitionIndex: partition.partition, leaderId: node, leaderEpoch: 0,
                    replicaNodes: [node], isrNodes: [node], offlineReplicas: [])
            })
    }
}

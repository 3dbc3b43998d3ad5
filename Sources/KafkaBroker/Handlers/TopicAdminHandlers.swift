import Foundation
import KafkaProtocol

extension BrokerCore {
    func createTopics(_ request: CreateTopicsRequest, _ context: RequestContext) async throws -> CreateTopicsResponse {
        let now = Self.nowMs()
        return CreateTopicsResponse(topics: request.topics.map { topic in
            var result = CreateTopicsResponse.CreatableTopicResult(name: topic.name, errorCode: 0)
            var configs: [String: String] = [:]
            for config in topic.configs { if let value = config.value { configs[config.name] = value } }
            let partitions = topic.numPartitions == -1 ? configuration.defaultPartitions : topic.numPartitions
            do throws(TopicError) {
                guard topic.assignments.isEmpty || topic.assignments.allSatisfy({ $0.brokerIds == [configuration.nodeId] }) else {
                    throw TopicError(code: .invalidReplicaAssignment, message: "the dev broker has one node, id \(configuration.nodeId)")
                }
                let created = try topics.create(
                    name: topic.name, partitions: topic.assignments.isEmpty ? partitions : Int32(topic.assignments.count),
                    replicationFactor: topic.assignments.isEmpty ? topic.replicationFactor : 1,
                    configs: configs, validateOnly: request.validateOnly, nowMs: now)
                result.topicId = created?.id ?? .kafkaZero
                result.numPartitions = created.map { Int32($0.partitions.count) } ?? partitions
                result.replicationFactor = 1
                let effective = created?.config ?? ((try? TopicRegistry.config(defaults: configuration.defaultLogConfig, overrides: configs)) ?? configuration.defaultLogConfig)
                result.configs = effective.entries.map { entry in
                    CreateTopicsResponse.CreatableTopicConfigs(
                        name: entry.name, value: entry.value, readOnly: false,
                        configSource: configs[entry.name] != nil ? ConfigSource.topic : ConfigSource.defaultConfig, isSensitive: false)
                }
            } catch {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            return result
        })
    }

    func deleteTopics(_ request: DeleteTopicsRequest, _ context: RequestContext) async throws -> DeleteTopicsResponse {
        // Versions up to 5 name topics in a list of strings; version 6 in structs that may carry an id instead.
        var targets: [(name: String?, id: UUID?)] = request.topicNames.map { ($0, nil) }
        targets += request.topics.map { ($0.name, $0.name == nil ? $0.topicId : nil) }
        return DeleteTopicsResponse(responses: targets.map { target in
            let topic = target.name.flatMap { topics.topic(named: $0) } ?? target.id.flatMap { topics.topic(withId: $0) }
            var result = DeleteTopicsResponse.DeletableTopicResult(name: target.name ?? topic?.name, topicId: topic?.id ?? .kafkaZero, errorCode: 0)
            guard let topic else {
                result.errorCode = (target.id != nil ? KafkaErrorCode.unknownTopicId : .unknownTopicOrPartition).rawValue
                return result
            }
            do throws(TopicError) { try topics.delete(name: topic.name) } catch {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            return result
        })
    }

    func createPartitions(_ request: CreatePartitionsRequest, _ context: RequestContext) async throws -> CreatePartitionsResponse {
        let now = Self.nowMs()
        return CreatePartitionsResponse(results: request.topics.map { topic in
            var result = CreatePartitionsResponse.CreatePartitionsTopicResult(name: topic.name, errorCode: 0)
            do throws(TopicError) {
                if request.validateOnly {
                    guard let existing = topics.topic(named: topic.name) else {
                        throw TopicError(code: .unknownTopicOrPartition, message: "topic '\(topic.name)' does not exist")
                    }
                    guard topic.count > existing.partitions.count else {
                        throw TopicError(code: .invalidPartitions, message: "topic '\(topic.name)' already has \(existing.partitions.count) partitions")
                    }
                } else {
                    try topics.addPartitions(topic: topic.name, totalCount: topic.count, nowMs: now)
                }
            } catch {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            return result
        })
    }

    /// DescribeConfigs resource types and config sources, as the protocol numbers them.
    enum ResourceType { static let topic: Int8 = 2; static let broker: Int8 = 4 }
    enum ConfigSource { static let topic: Int8 = 1; static let staticBroker: Int8 = 4; static let defaultConfig: Int8 = 5 }

    func describeConfigs(_ request: DescribeConfigsRequest, _ context: RequestContext) async throws -> DescribeConfigsResponse {
        DescribeConfigsResponse(results: request.resources.map { resource in
            var result = DescribeConfigsResponse.DescribeConfigsResult(errorCode: 0, errorMessage: nil, resourceType: resource.resourceType, resourceName: resource.resourceName)
            let entries: [(name: String, value: String, source: Int8)]
            switch resource.resourceType {
            case ResourceType.topic:
                guard let topic = topics.topic(named: resource.resourceName) else {
                    result.errorCode = KafkaErrorCode.unknownTopicOrPartition.rawValue
                    result.errorMessage = "topic '\(resource.resourceName)' does not exist"
                    return result
                }
                entries = topic.config.entries.map { ($0.name, $0.value, topic.overrides[$0.name] != nil ? ConfigSource.topic : ConfigSource.defaultConfig) }
            case ResourceType.broker:
                entries = [
                    ("broker.id", String(configuration.nodeId), ConfigSource.staticBroker),
                    ("num.partitions", String(configuration.defaultPartitions), ConfigSource.staticBroker),
                    ("auto.create.topics.enable", String(configuration.autoCreateTopics), ConfigSource.staticBroker),
                    ("log.dirs", configuration.dataDirectory, ConfigSource.staticBroker),
                ] + configuration.defaultLogConfig.entries.map { ($0.name, $0.value, ConfigSource.defaultConfig) }
            default:
                result.errorCode = KafkaErrorCode.invalidRequest.rawValue
                result.errorMessage = "unsupported resource type \(resource.resourceType)"
                return result
            }
            let wanted = resource.configurationKeys.map(Set.init)
            result.configs = entries.filter { wanted?.contains($0.name) ?? true }.map { entry in
                DescribeConfigsResponse.DescribeConfigsResourceResult(
                    name: entry.name, value: entry.value, readOnly: resource.resourceType == ResourceType.broker,
                    isDefault: entry.source == ConfigSource.defaultConfig, configSource: entry.source, isSensitive: false)
            }
            return result
        })
    }

    func deleteRecords(_ request: DeleteRecordsRequest, _ context: RequestContext) async throws -> DeleteRecordsResponse {
        DeleteRecordsResponse(topics: request.topics.map { topic in
            DeleteRecordsResponse.DeleteRecordsTopicResult(name: topic.name, partitions: topic.partitions.map { p in
                var out = DeleteRecordsResponse.DeleteRecordsPartitionResult(partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: 0)
                guard let partition = topics.partition(topic.name, p.partitionIndex) else {
                    out.errorCode = KafkaErrorCode.unknownTopicOrPartition.rawValue
                    return out
                }
                // -1 means "up to the high watermark".
                let target = p.offset == -1 ? partition.logEndOffset : p.offset
                guard target >= 0, target <= partition.logEndOffset else {
                    out.errorCode = KafkaErrorCode.offsetOutOfRange.rawValue
                    return out
                }
                do { out.lowWatermark = try partition.deleteRecords(before: target) } catch {
                    out.errorCode = KafkaErrorCode.kafkaStorageError.rawValue
                }
                return out
            })
        })
    }
}

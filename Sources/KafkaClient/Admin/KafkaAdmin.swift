import KafkaProtocol
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A topic to create.
public struct NewTopic: Sendable {
    public var name: String
    /// -1 for the broker's `num.partitions`.
    public var partitions: Int32
    /// -1 for the broker's `default.replication.factor`.
    public var replicationFactor: Int16
    /// Topic configs such as `cleanup.policy` or `retention.ms`.
    public var configs: [String: String]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// Which offset ListOffsets looks up.
public enum OffsetSpec: Sendable, Hashable {
    case earliest
    case latest
    /// The first offset whose timestamp is at or after this one (ms since the epoch).
    case timestamp(Int64)
    /// The offset of the record with the largest timestamp.
    case maxTimestamp

    var wireValue: Int64 {
        switch self {
        case .earliest: return -2
        case .latest: return -1
        case .maxTimestamp: return -3
        case .timestamp(let t): return t
        }
    }
}

/// A partition's offset with its timestamp, from ListOffsets.
public struct ListedOffset: Sendable, Hashable {
    public var offset: Int64
    public var timestamp: Int64
}

/// A consumer group, as ListGroups reports it.
public struct GroupListing: Sendable, Hashable {
    public var groupId: String
    public var protocolType: String
    public var state: String?
}

/// A consumer group in detail, from DescribeGroups.
public struct GroupDescription: Sendable {
    public struct Member: Sendable {
        public var memberId: String
        public var groupInstanceId: String?
        public var clientId: String
        public var clientHost: String
        /// The partitions assigned to the member, decoded with the consumer protocol; or why
        /// they could not be (another protocol type, malformed bytes). A member with no
        /// assignment bytes (none given yet, or given nothing) has an empty list.
        public var assignment: Result<[TopicPartition], MemberAssignmentError>
        /// The assignment bytes exactly as the coordinator holds them.
        public var rawAssignment: [UInt8]
    }

    public var groupId: String
    public var state: String
    public var protocolType: String
    public var protocolName: String
    public var members: [Member]
}

/// Cluster administration: topics, partitions, offsets, groups and configs.
///
/// ```swift
/// let admin = KafkaAdmin(cluster: cluster)
/// try await admin.createTopics([NewTopic(name: "events", partitions: 6, replicationFactor: 1)])
/// ```
public struct KafkaAdmin: Sendable {
    public let cluster: KafkaCluster

    public init(cluster: KafkaCluster) {
        self.cluster = cluster
    }

    private var timeoutMs: Int32 { Int32(clamping: cluster.configuration.requestTimeout.milliseconds) }

    /// Sends to the controller, which handles topic changes.
    private func sendToController<R: KafkaRequestMessage>(_ request: R) async throws -> R.Response {
        let metadata = try await cluster.metadata()
        if metadata.controllerId >= 0, metadata.brokers[metadata.controllerId] != nil {
            return try await cluster.send(request, toNode: metadata.controllerId)
        }
        return try await cluster.sendToAny(request)
    }

    // MARK: Topics

    /// Creates topics. Throws the first error; an existing topic is an error unless `ifNotExists`.
    public func createTopics(_ topics: [NewTopic], ifNotExists: Bool = false, validateOnly: Bool = false) async throws {
        let request = CreateTopicsRequest(
            topics: topics.map { topic in
                CreateTopicsRequest.CreatableTopic(
                    name: topic.name, numPartitions: topic.partitions, replicationFactor: topic.replicationFactor,
                    configs: topic.configs.sorted { $0.key < $1.key }.map { CreateTopicsRequest.CreatableTopicConfig(name: $0.key, value: $0.value) })
            },
            timeoutMs: timeoutMs, validateOnly: validateOnly)
        let response = try await sendToController(request)
        for result in response.topics where result.errorCode != 0 {
            let code = KafkaErrorCode(result.errorCode)
            if code == .topicAlreadyExists && ifNotExists { continue }
            throw KafkaClientError.broker(KafkaResponseError(code: code, message: result.errorMessage, context: "create topic '\(result.name)'"))
        }
        await cluster.invalidateMetadata()
    }

    /// Deletes topics by name.
    public func deleteTopics(_ names: [String]) async throws {
        let response = try await sendToController(DeleteTopicsRequest(
            topics: names.map { DeleteTopicsRequest.DeleteTopicState(name: $0) }, topicNames: names, timeoutMs: timeoutMs))
        for result in response.responses where result.errorCode != 0 {
            throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(result.errorCode), message: result.errorMessage, context: "delete topic '\(result.name ?? "?")'"))
        }
        await cluster.invalidateMetadata()
    }

    /// Raises a topic's partition count to `totalCount`.
    public func createPartitions(topic: String, totalCount: Int32) async throws {
        let response = try await sendToController(CreatePartitionsRequest(
            topics: [CreatePartitionsRequest.CreatePartitionsTopic(name: topic, count: totalCount, assignments: nil)], timeoutMs: timeoutMs))
        for result in response.results where result.errorCode != 0 {
            throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(result.errorCode), message: result.errorMessage, context: "create partitions of '\(result.name)'"))
        }
        await cluster.invalidateMetadata()
    }

    /// Topic names, without internal topics unless asked.
    public func listTopics(includeInternal: Bool = false) async throws -> [String] {
        let metadata = try await cluster.refreshMetadata(all: true)
        return metadata.topics.values.filter { includeInternal || !$0.isInternal }.map(\.name).sorted()
    }

    /// Topics with their partitions, leaders and replicas.
    public func describeTopics(_ names: [String]) async throws -> [ClusterMetadata.Topic] {
        let metadata = try await cluster.refreshMetadata(topics: names)
        return try names.map { name in
            guard let topic = metadata.topics[name], topic.error == .noError else {
                throw KafkaClientError.broker(KafkaResponseError(code: metadata.topics[name]?.error ?? .unknownTopicOrPartition, context: "describe topic '\(name)'"))
            }
            return topic
        }
    }

    /// A topic's configs (DescribeConfigs).
    public func describeTopicConfigs(_ topic: String) async throws -> [String: String] {
        let response = try await cluster.sendToAny(DescribeConfigsRequest(resources: [
            DescribeConfigsRequest.DescribeConfigsResource(resourceType: 2, resourceName: topic, configurationKeys: nil),
        ]))
        guard let result = response.results.first else { return [:] }
        guard result.errorCode == 0 else {
            throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(result.errorCode), message: result.errorMessage, context: "describe configs of '\(topic)'"))
        }
        var configs: [String: String] = [:]
        for entry in result.configs { if let value = entry.value { configs[entry.name] = value } }
        return configs
    }

    // MARK: Offsets

    /// Offsets of partitions by spec, asking each partition's leader.
    ///
    /// A partition whose leader moved (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, a stale
    /// leader epoch, UNKNOWN_TOPIC_OR_PARTITION) is asked again after a metadata refresh, every
    /// `retryBackoff`, for up to `requestTimeout`; then its error is thrown.
    public func listOffsets(_ partitions: [TopicPartition: OffsetSpec], readCommitted: Bool = false) async throws -> [TopicPartition: ListedOffset] {
        let deadline = ContinuousClock.now + cluster.configuration.requestTimeout
        var result: [TopicPartition: ListedOffset] = [:]
        var pending = partitions
        while true {
            let (listed, moved) = try await listOffsetsOnce(pending, readCommitted: readCommitted)
            result.merge(listed) { _, new in new }
            guard let (partition, code) = moved.min(by: { $0.key < $1.key }) else { return result }
            await cluster.invalidateMetadata()
            guard ContinuousClock.now + cluster.configuration.retryBackoff < deadline else {
                throw KafkaClientError.broker(KafkaResponseError(code: code, context: "list offsets of \(partition)"))
            }
            try await Task.sleep(for: cluster.configuration.retryBackoff)
            pending = pending.filter { moved[$0.key] != nil }
        }
    }

    /// One round of ListOffsets: the offsets listed, and the partitions whose leader moved.
    private func listOffsetsOnce(_ partitions: [TopicPartition: OffsetSpec], readCommitted: Bool) async throws
        -> (listed: [TopicPartition: ListedOffset], moved: [TopicPartition: KafkaErrorCode]) {
        var byLeader: [Int32: [(TopicPartition, OffsetSpec)]] = [:]
        for (partition, spec) in partitions {
            byLeader[try await cluster.leader(for: partition), default: []].append((partition, spec))
        }
        var result: [TopicPartition: ListedOffset] = [:]
        var moved: [TopicPartition: KafkaErrorCode] = [:]
        for (leader, entries) in byLeader {
            var byTopic: [String: [(Int32, OffsetSpec)]] = [:]
            for (partition, spec) in entries { byTopic[partition.topic, default: []].append((partition.partition, spec)) }
            let request = ListOffsetsRequest(
                replicaId: -1, isolationLevel: readCommitted ? 1 : 0,
                topics: byTopic.map { topic, parts in
                    ListOffsetsRequest.ListOffsetsTopic(name: topic, partitions: parts.map {
                        ListOffsetsRequest.ListOffsetsPartition(partitionIndex: $0.0, timestamp: $0.1.wireValue)
                    })
                },
                timeoutMs: timeoutMs)
            let response = try await cluster.send(request, toNode: leader)
            for topic in response.topics {
                for partition in topic.partitions {
                    let code = KafkaErrorCode(partition.errorCode)
                    switch code {
                    case .noError:
                        result[TopicPartition(topic.name, partition.partitionIndex)] = ListedOffset(offset: partition.offset, timestamp: partition.timestamp)
                    case .notLeaderOrFollower, .leaderNotAvailable, .fencedLeaderEpoch, .unknownLeaderEpoch, .unknownTopicOrPartition:
                        moved[TopicPartition(topic.name, partition.partitionIndex)] = code
                    default:
                        throw KafkaClientError.broker(KafkaResponseError(code: code, context: "list offsets of \(topic.name)-\(partition.partitionIndex)"))
                    }
                }
            }
        }
        return (result, moved)
    }

    /// Deletes records before the given offsets; returns each partition's new low watermark.
    public func deleteRecords(before offsets: [TopicPartition: Int64]) async throws -> [TopicPartition: Int64] {
        var byLeader: [Int32: [TopicPartition: Int64]] = [:]
        for (partition, offset) in offsets { byLeader[try await cluster.leader(for: partition), default: [:]][partition] = offset }
        var result: [TopicPartition: Int64] = [:]
        for (leader, entries) in byLeader {
            var byTopic: [String: [(Int32, Int64)]] = [:]
            for (partition, offset) in entries { byTopic[partition.topic, default: []].append((partition.partition, offset)) }
            let response = try await cluster.send(DeleteRecordsRequest(
                topics: byTopic.map { topic, parts in
                    DeleteRecordsRequest.DeleteRecordsTopic(name: topic, partitions: parts.map { DeleteRecordsRequest.DeleteRecordsPartition(partitionIndex: $0.0, offset: $0.1) })
                }, timeoutMs: timeoutMs), toNode: leader)
            for topic in response.topics {
                for partition in topic.partitions {
                    guard partition.errorCode == 0 else {
                        throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(partition.errorCode), context: "delete records of \(topic.name)-\(partition.partitionIndex)"))
                    }
                    result[TopicPartition(topic.name, partition.partitionIndex)] = partition.lowWatermark
                }
            }
        }
        return result
    }

    // MARK: Groups

    /// Groups on every broker.
    public func listGroups() async throws -> [GroupListing] {
        let metadata = try await cluster.refreshMetadata()
        var listings: [GroupListing] = []
        let nodes = metadata.brokers.keys.sorted()
        for node in nodes.isEmpty ? [] : nodes {
            let response = try await cluster.send(ListGroupsRequest(), toNode: node)
            guard response.errorCode == 0 else {
                throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(response.errorCode), context: "list groups"))
            }
            listings += response.groups.map { GroupListing(groupId: $0.groupId, protocolType: $0.protocolType, state: $0.groupState.isEmpty ? nil : $0.groupState) }
        }
        return listings.sorted { $0.groupId < $1.groupId }
    }

    /// A group's state and members, from its coordinator.
    public func describeGroup(_ groupId: String) async throws -> GroupDescription {
        let coordinator = try await cluster.coordinator(for: groupId, type: .group)
        let response = try await cluster.send(DescribeGroupsRequest(groups: [groupId]), toNode: coordinator)
        guard let group = response.groups.first else {
            throw KafkaClientError.broker(KafkaResponseError(code: .groupIdNotFound, context: "describe group '\(groupId)'"))
        }
        guard group.errorCode == 0 else {
            throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(group.errorCode), context: "describe group '\(groupId)'"))
        }
        return GroupDescription(
            groupId: group.groupId, state: group.groupState, protocolType: group.protocolType, protocolName: group.protocolData,
            members: group.members.map { member in
                GroupDescription.Member(memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId,
                                        clientHost: member.clientHost,
                                        assignment: Self.decodeAssignment(member.memberAssignment, protocolType: group.protocolType),
                                        rawAssignment: Array(member.memberAssignment.readableBytesView))
            })
    }

    /// A member's partitions from its assignment bytes, which start with the consumer protocol's version.
    static func decodeAssignment(_ bytes: ByteBuffer, protocolType: String) -> Result<[TopicPartition], MemberAssignmentError> {
        guard bytes.readableBytes > 0 else { return .success([]) }
        guard protocolType == "consumer" else { return .failure(.notConsumerProtocol(protocolType: protocolType)) }
        do {
            let decoded = try ConsumerProtocolCodec.decodeAssignment(bytes)
            return .success(decoded.assignedPartitions.flatMap { topic in topic.partitions.map { TopicPartition(topic.topic, $0) } }.sorted())
        } catch let error as KafkaProtocolError {
            return .failure(.malformed(error))
        } catch {
            return .failure(.malformed(.invalidRecord("consumer protocol assignment: \(error)")))
        }
    }

    /// A group's committed offsets (OffsetFetch), for all partitions it has committed.
    public func committedOffsets(group groupId: String) async throws -> [TopicPartition: Int64] {
        let coordinator = try await cluster.coordinator(for: groupId, type: .group)
        let connection = try await cluster.connection(toNode: coordinator)
        let version = connection.negotiatedVersion(for: OffsetFetchRequest.self) ?? 1
        let request = version >= 8
            ? OffsetFetchRequest(groups: [OffsetFetchRequest.OffsetFetchRequestGroup(groupId: groupId, topics: nil)])
            : OffsetFetchRequest(groupId: groupId, topics: nil)
        let response = try await connection.send(request, version: version)
        var result: [TopicPartition: Int64] = [:]
        if version >= 8 {
            for group in response.groups {
                guard group.errorCode == 0 else { throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(group.errorCode), context: "offsets of group '\(groupId)'")) }
                for topic in group.topics { for p in topic.partitions where p.committedOffset >= 0 { result[TopicPartition(topic.name, p.partitionIndex)] = p.committedOffset } }
            }
        } else {
            guard response.errorCode == 0 else { throw KafkaClientError.broker(KafkaResponseError(code: KafkaErrorCode(response.errorCode), context: "offsets of group '\(groupId)'")) }
            for topic in response.topics { for p in topic.partitions where p.committedOffset >= 0 { result[TopicPartition(topic.name, p.partitionIndex)] = p.committedOffset } }
        }
        return result
    }
}

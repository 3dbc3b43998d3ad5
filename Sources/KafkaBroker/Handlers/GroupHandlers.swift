import KafkaProtocol
import NIOCore

extension BrokerCore {
    func findCoordinator(_ request: FindCoordinatorRequest, _ context: RequestContext) async throws -> FindCoordinatorResponse {
        // One node coordinates every group and every transactional id.
        let keys = context.version >= 4 ? request.coordinatorKeys : [request.key]
        let valid = request.keyType == 0 || request.keyType == 1
        let code: KafkaErrorCode = valid ? .noError : .invalidRequest
        if context.version >= 4 {
            return FindCoordinatorResponse(coordinators: keys.map {
                FindCoordinatorResponse.Coordinator(key: $0, nodeId: configuration.nodeId, host: advertisedHost, port: advertisedPort,
                                                    errorCode: code.rawValue, errorMessage: valid ? nil : "unknown key type \(request.keyType)")
            })
        }
        return FindCoordinatorResponse(errorCode: code.rawValue, errorMessage: valid ? nil : "unknown key type \(request.keyType)",
                                       nodeId: configuration.nodeId, host: advertisedHost, port: advertisedPort)
    }

    func joinGroup(_ request: JoinGroupRequest, _ context: RequestContext) async throws -> JoinGroupResponse {
        await groups.joinGroup(request, version: context.version, clientId: context.header.clientId ?? "", clientHost: context.clientHost)
    }

    func syncGroup(_ request: SyncGroupRequest, _ context: RequestContext) async throws -> SyncGroupResponse {
        await groups.syncGroup(request)
    }

    func heartbeat(_ request: HeartbeatRequest, _ context: RequestContext) async throws -> HeartbeatResponse {
        await groups.heartbeat(request)
    }

    func leaveGroup(_ request: LeaveGroupRequest, _ context: RequestContext) async throws -> LeaveGroupResponse {
        await groups.leaveGroup(request, version: context.version)
    }

    func offsetCommit(_ request: OffsetCommitRequest, _ context: RequestContext) async throws -> OffsetCommitResponse {
        await groups.offsetCommit(request)
    }

    func offsetFetch(_ request: OffsetFetchRequest, _ context: RequestContext) async throws -> OffsetFetchResponse {
        if context.version >= 8 {
            var results: [OffsetFetchResponse.OffsetFetchResponseGroup] = []
            for group in request.groups {
                let topics = await groups.fetchOffsets(groupId: group.groupId, topics: group.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }, requireStable: request.requireStable)
                results.append(OffsetFetchResponse.OffsetFetchResponseGroup(groupId: group.groupId, topics: topics.map { topic in
                    OffsetFetchResponse.OffsetFetchResponseTopics(name: topic.name, partitions: topic.partitions.map { p in
                        OffsetFetchResponse.OffsetFetchResponsePartitions(
                            partitionIndex: p.partition, committedOffset: p.offset?.offset ?? -1, committedLeaderEpoch: p.offset?.leaderEpoch ?? -1,
                            metadata: p.offset?.metadata ?? "", errorCode: p.error.rawValue)
                    })
                }, errorCode: 0))
            }
            return OffsetFetchResponse(groups: results)
        }
        let topics = await groups.fetchOffsets(groupId: request.groupId, topics: request.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }, requireStable: request.requireStable)
        return OffsetFetchResponse(topics: topics.map { topic in
            OffsetFetchResponse.OffsetFetchResponseTopic(name: topic.name, partitions: topic.partitions.map { p in
                OffsetFetchResponse.OffsetFetchResponsePartition(
                    partitionIndex: p.partition, committedOffset: p.offset?.offset ?? -1, committedLeaderEpoch: p.offset?.leaderEpoch ?? -1,
                    metadata: p.offset?.metadata ?? "", errorCode: p.error.rawValue)
            })
        }, errorCode: 0)
    }

    func describeGroups(_ request: DescribeGroupsRequest, _ context: RequestContext) async throws -> DescribeGroupsResponse {
        var described: [DescribeGroupsResponse.DescribedGroup] = []
        for groupId in request.groups { described.append(await groups.describe(groupId: groupId)) }
        return DescribeGroupsResponse(groups: described)
    }

    func listGroups(_ request: ListGroupsRequest, _ context: RequestContext) async throws -> ListGroupsResponse {
        let listed = await groups.list(states: Set(request.statesFilter))
        return ListGroupsResponse(errorCode: 0, groups: listed.map {
            ListGroupsResponse.ListedGroup(groupId: $0.groupId, protocolType: $0.protocolType, groupState: $0.state, groupType: "classic")
        })
    }
}

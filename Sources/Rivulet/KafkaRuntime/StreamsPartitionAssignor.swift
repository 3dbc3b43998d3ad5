import KafkaClient
import KafkaProtocol
import Logging
import NIOCore
import Synchronization

/// The consumer-group assignor of a streams application (`partition.assignment.strategy`
/// "stream"): the group leader turns partitions into tasks and places the tasks, and every
/// member learns its active tasks from the assignment's `userData`.
///
/// Partition `p` of every source topic of a sub-topology goes to task `s_p`, so joined
/// (co-partitioned) topics meet in one task. Placement is ``TaskAssignor``'s: even over
/// threads and instances, sticky to where a task ran or where its state is on disk. When joined
/// topics have different partition counts, or a source topic does not exist, the leader assigns
/// nothing and sends every member an error naming them, which stops the application.
public struct StreamsPartitionAssignor: PartitionAssignor {
    /// The protocol name every member of a streams application's group offers.
    public let name = "stream"
    let layout: TaskLayout
    let member: MemberState
    let logger: Logger

    /// What one member (stream thread) remembers between rebalances.
    final class MemberState: Sendable {
        let processId: String
        private let tasksOnDisk: @Sendable () -> Set<TaskId>
        private let state = Mutex<(previous: Set<TaskId>, latest: StreamsAssignmentInfo?)>(([], nil))

        init(processId: String, tasksOnDisk: @escaping @Sendable () -> Set<TaskId>) {
            self.processId = processId
            self.tasksOnDisk = tasksOnDisk
        }

        var subscriptionInfo: StreamsSubscriptionInfo {
            StreamsSubscriptionInfo(processId: processId, previousTasks: state.withLock { $0.previous }, tasksOnDisk: tasksOnDisk())
        }

        func received(_ info: StreamsAssignmentInfo) {
            state.withLock { $0 = (Set(info.activeTasks), info) }
        }

        /// The assignment received last, `nil` before the first.
        var latest: StreamsAssignmentInfo? { state.withLock { $0.latest } }
    }

    init(layout: TaskLayout, member: MemberState, logger: Logger) {
        self.layout = layout
        self.member = member
        self.logger = logger
    }

    /// This member's ``StreamsSubscriptionInfo``.
    public func subscriptionUserData(_ context: SubscriptionContext) -> ByteBuffer? {
        member.subscriptionInfo.encode()
    }

    /// Keeps the ``StreamsAssignmentInfo`` received, for the stream thread's assignment callback.
    public func onAssignment(_ assignment: PartitionAssignment, generationId: Int32) {
        let info = assignment.userData.flatMap(StreamsAssignmentInfo.decode)
            ?? StreamsAssignmentInfo(activeTasks: [], errorCode: .assignmentFailed,
                                     errorMessage: "the group leader sent an assignment this member cannot read (another application or version in the group?)")
        member.received(info)
    }

    /// The leader's computation: partitions to tasks, tasks to members (see ``TaskAssignor``).
    public func assign(members: [GroupMemberSubscription], metadata: ClusterMetadata) throws -> [String: PartitionAssignment] {
        let counts = metadata.partitionCounts(of: layout.allSourceTopics)
        let missing = layout.allSourceTopics.subtracting(counts.keys).sorted()
        if !missing.isEmpty {
            // Their sub-topologies would get no tasks, and their records would never be processed.
            let message = "missing source topics \(missing.joined(separator: ", ")): create them, then start the application again"
            logger.error("cannot assign tasks: \(message)")
            return failed(members, .missingSourceTopics, message)
        }
        if let violation = layout.copartitioningViolation(partitionCounts: counts) {
            logger.error("cannot assign tasks: \(violation)")
            return failed(members, .copartitioning, "\(violation)")
        }
        let tasks = layout.tasks(partitionCounts: counts)
        var clients: [TaskAssignor.Member] = []
        for subscription in members {
            let info = subscription.userData.flatMap(StreamsSubscriptionInfo.decode)
            if info == nil {
                logger.warning("member \(subscription.memberId) sent no streams subscription data: treated as a new instance")
            }
            clients.append(TaskAssignor.Member(
                memberId: subscription.memberId, processId: info?.processId ?? subscription.memberId,
                previousTasks: info?.previousTasks ?? [], tasksOnDisk: info?.tasksOnDisk ?? []))
        }
        let placement = TaskAssignor().assign(tasks: Set(tasks.keys), members: clients)
        var result: [String: PartitionAssignment] = [:]
        for subscription in members {
            let active = placement[subscription.memberId] ?? []
            result[subscription.memberId] = PartitionAssignment(
                partitions: active.flatMap { tasks[$0] ?? [] }.sorted(),
                userData: StreamsAssignmentInfo(activeTasks: active).encode())
        }
        logger.info("assigned \(tasks.count) tasks to \(members.count) members: \(placement.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" })")
        return result
    }

    private func failed(_ members: [GroupMemberSubscription], _ code: StreamsAssignmentInfo.ErrorCode, _ message: String) -> [String: PartitionAssignment] {
        let userData = StreamsAssignmentInfo(activeTasks: [], errorCode: code, errorMessage: message).encode()
        return Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, PartitionAssignment(partitions: [], userData: userData)) })
    }
}

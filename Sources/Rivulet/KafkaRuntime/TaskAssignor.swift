/// The placement of tasks on the stream threads of a group: balanced and sticky.
///
/// - **Balanced**: the tasks of every sub-topology are spread as evenly as possible over the
///   members (threads), so each member has `n / members` of them, or one more; the members that
///   get one more are those with the fewest tasks so far, so totals stay even too. Among equally
///   loaded members, new tasks go to instances (processes) with fewer tasks of the sub-topology.
/// - **Sticky**: a task stays with the member that ran it last, else goes to a member of an
///   instance that has its state on disk, as long as balance allows.
///
/// A member may end up with no task (more members than tasks); it takes tasks over when others leave.
public struct TaskAssignor: Sendable {
    /// A member of the group as the assignor sees it.
    public struct Member: Sendable, Hashable {
        public var memberId: String
        /// The instance the member (thread) belongs to.
        public var processId: String
        /// The tasks it ran in the last generation.
        public var previousTasks: Set<TaskId>
        /// The tasks whose state its instance has on disk.
        public var tasksOnDisk: Set<TaskId>

        /// A member and what it reported in its subscription.
        public init(memberId: String, processId: String, previousTasks: Set<TaskId> = [], tasksOnDisk: Set<TaskId> = []) {
            self.memberId = memberId
            self.processId = processId
            self.previousTasks = previousTasks
            self.tasksOnDisk = tasksOnDisk
        }
    }

    /// The assignor (it keeps no state: everything comes with the members).
    public init() {}

    /// Tasks per member id; every member id of `members` is in the result.
    public func assign(tasks: Set<TaskId>, members: [Member]) -> [String: [TaskId]] {
        let members = members.sorted { $0.memberId < $1.memberId }
        var result: [String: [TaskId]] = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, []) })
        guard !members.isEmpty else { return result }
        // A task claimed as previous by two members (a zombie and its successor): the first keeps it.
        var previousOwner: [TaskId: String] = [:]
        for member in members {
            for task in member.previousTasks where previousOwner[task] == nil { previousOwner[task] = member.memberId }
        }
        var total: [String: Int] = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, 0) })
        let bySubtopology = Dictionary(grouping: tasks, by: \.subtopology)

        for subtopology in bySubtopology.keys.sorted() {
            let subtopologyTasks = bySubtopology[subtopology]!.sorted()
            let base = subtopologyTasks.count / members.count
            let extra = subtopologyTasks.count % members.count
            // Members that may take one more: the least loaded, then those that ran more of these tasks.
            let ranked = members.sorted { a, b in
                let (la, lb) = (total[a.memberId]!, total[b.memberId]!)
                if la != lb { return la < lb }
                let pa = a.previousTasks.filter { $0.subtopology == subtopology }.count
                let pb = b.previousTasks.filter { $0.subtopology == subtopology }.count
                if pa != pb { return pa > pb }
                return a.memberId < b.memberId
            }
            var capacity: [String: Int] = [:]
            for (rank, member) in ranked.enumerated() { capacity[member.memberId] = base + (rank < extra ? 1 : 0) }
            var count: [String: Int] = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, 0) })
            var perProcess: [String: Int] = [:]
            var unassigned: [TaskId] = []

            func give(_ task: TaskId, to member: Member) {
                result[member.memberId]!.append(task)
                count[member.memberId]! += 1
                total[member.memberId]! += 1
                perProcess[member.processId, default: 0] += 1
            }

            // 1. Where it ran last.
            for task in subtopologyTasks {
                if let owner = previousOwner[task], let member = members.first(where: { $0.memberId == owner }),
                   count[owner]! < capacity[owner]! {
                    give(task, to: member)
                } else {
                    unassigned.append(task)
                }
            }
            // 2. Where its state is on disk.
            var remaining: [TaskId] = []
            for task in unassigned {
                if let member = members.first(where: { $0.tasksOnDisk.contains(task) && count[$0.memberId]! < capacity[$0.memberId]! }) {
                    give(task, to: member)
                } else {
                    remaining.append(task)
                }
            }
            // 3. The rest: most room left, then the instance with the fewest of these tasks.
            for task in remaining {
                let member = members.filter { count[$0.memberId]! < capacity[$0.memberId]! }.min { a, b in
                    let (ra, rb) = (capacity[a.memberId]! - count[a.memberId]!, capacity[b.memberId]! - count[b.memberId]!)
                    if ra != rb { return ra > rb }
                    let (pa, pb) = (perProcess[a.processId, default: 0], perProcess[b.processId, default: 0])
                    if pa != pb { return pa < pb }
                    return a.memberId < b.memberId
                }!
                give(task, to: member)
            }
        }
        for member in result.keys { result[member]!.sort() }
        return result
    }
}

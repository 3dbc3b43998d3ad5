/// A task: one instance of one sub-topology, for one partition of its source topics.
/// Printed `<sub-topology>_<partition>`, as Kafka Streams names tasks and their state directories.
public struct TaskId: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var subtopology: Int
    public var partition: Int32

    public init(subtopology: Int, partition: Int32) {
        self.subtopology = subtopology
        self.partition = partition
    }

    public static func < (lhs: TaskId, rhs: TaskId) -> Bool {
        (lhs.subtopology, lhs.partition) < (rhs.subtopology, rhs.partition)
    }

    public var description: String { "\(subtopology)_\(partition)" }
}

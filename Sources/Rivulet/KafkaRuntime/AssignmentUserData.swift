import NIOCore

/// What a stream thread tells the group leader when it joins (the `userData` of its
/// subscription): which instance it belongs to and where state already is, so the assignor can
/// keep tasks where their stores are.
public struct StreamsSubscriptionInfo: Sendable, Hashable {
    static let version: Int32 = 1

    /// Identifies the instance (process); its threads share one state directory.
    public var processId: String
    /// Tasks this member ran in its last generation.
    public var previousTasks: Set<TaskId>
    /// Tasks with a store directory in the instance's state directory.
    public var tasksOnDisk: Set<TaskId>

    /// What a member of instance `processId` sends.
    public init(processId: String, previousTasks: Set<TaskId>, tasksOnDisk: Set<TaskId>) {
        self.processId = processId
        self.previousTasks = previousTasks
        self.tasksOnDisk = tasksOnDisk
    }

    /// The bytes: version (int32), process id (int32 length + UTF-8), then the previous tasks and
    /// the tasks on disk, each as a count and (sub-topology, partition) int32 pairs, sorted.
    public func encode() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.version)
        buffer.writeStreamsString(processId)
        buffer.writeTasks(previousTasks)
        buffer.writeTasks(tasksOnDisk)
        return buffer
    }

    /// Decodes what `encode` wrote; `nil` for bytes of another layout (a member of another
    /// application or version), which the assignor treats as a member with no history.
    public static func decode(_ bytes: ByteBuffer) -> StreamsSubscriptionInfo? {
        var buffer = bytes
        guard buffer.readInteger(as: Int32.self) == version,
              let processId = buffer.readStreamsString(),
              let previous = buffer.readTasks(),
              let onDisk = buffer.readTasks() else { return nil }
        return StreamsSubscriptionInfo(processId: processId, previousTasks: previous, tasksOnDisk: onDisk)
    }
}

/// What the leader tells each stream thread (the `userData` of its assignment): its active
/// tasks, or an error that stops the whole application.
public struct StreamsAssignmentInfo: Sendable, Hashable {
    static let version: Int32 = 1

    /// Why the leader assigned nothing.
    public enum ErrorCode: Int32, Sendable {
        case none = 0
        /// Joined topics have different partition counts.
        case copartitioning = 1
        /// The leader could not decode a member's subscription or compute an assignment.
        case assignmentFailed = 2
        /// A source topic does not exist (Kafka Streams' `MissingSourceTopicException`).
        case missingSourceTopics = 3
    }

    /// The tasks the member runs, sorted.
    public var activeTasks: [TaskId]
    public var errorCode: ErrorCode
    /// Says what went wrong, naming topics and counts.
    public var errorMessage: String

    /// An assignment of `activeTasks`, or an error (with no tasks).
    public init(activeTasks: [TaskId], errorCode: ErrorCode = .none, errorMessage: String = "") {
        self.activeTasks = activeTasks
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    /// The bytes: version (int32), error code (int32), error message (int32 length + UTF-8),
    /// then the active tasks as a count and (sub-topology, partition) int32 pairs, sorted.
    public func encode() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.version)
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeStreamsString(errorMessage)
        buffer.writeTasks(Set(activeTasks))
        return buffer
    }

    /// Decodes what `encode` wrote; `nil` for bytes of another layout.
    public static func decode(_ bytes: ByteBuffer) -> StreamsAssignmentInfo? {
        var buffer = bytes
        guard buffer.readInteger(as: Int32.self) == version,
              let code = buffer.readInteger(as: Int32.self).flatMap(ErrorCode.init(rawValue:)),
              let message = buffer.readStreamsString(),
              let tasks = buffer.readTasks() else { return nil }
        return StreamsAssignmentInfo(activeTasks: tasks.sorted(), errorCode: code, errorMessage: message)
    }
}

extension ByteBuffer {
    fileprivate mutating func writeStreamsString(_ string: String) {
        let length = writeInteger(Int32(0))
        let written = writeString(string)
        setInteger(Int32(written), at: writerIndex - written - length)
    }

    fileprivate mutating func readStreamsString() -> String? {
        guard let length = readInteger(as: Int32.self), length >= 0, Int(length) <= readableBytes else { return nil }
        return readString(length: Int(length))
    }

    fileprivate mutating func writeTasks(_ tasks: Set<TaskId>) {
        writeInteger(Int32(tasks.count))
        for task in tasks.sorted() {
            writeInteger(Int32(task.subtopology))
            writeInteger(task.partition)
        }
    }

    fileprivate mutating func readTasks() -> Set<TaskId>? {
        guard let count = readInteger(as: Int32.self), count >= 0, Int(count) * 8 <= readableBytes else { return nil }
        var tasks = Set<TaskId>()
        for _ in 0..<count {
            guard let subtopology = readInteger(as: Int32.self), let partition = readInteger(as: Int32.self),
                  subtopology >= 0, partition >= 0 else { return nil }
            tasks.insert(TaskId(subtopology: Int(subtopology), partition: partition))
        }
        return tasks
    }
}

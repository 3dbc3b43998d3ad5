import NIOCore

/// Where a store writes its changelog: the task sends each write as a record to the store's
/// changelog topic, on the task's partition.
public protocol ChangelogSink: AnyObject {
    /// Logs one write; `value == nil` is a delete (a tombstone in the compacted changelog).
    func logChange(store: String, key: ByteBuffer, value: ByteBuffer?, timestamp: Int64) throws
}

/// Holds the context of the record being processed; stores read it (the timestamp of a changelog
/// record) and caches set it while they flush (so what they emit carries the original write's context).
public protocol RecordContextHolder: AnyObject {
    var recordContext: RecordContext { get set }
}

/// What a store needs from the task that owns it.
public final class StateStoreContext {
    public let applicationId: String
    public let taskId: TaskId
    /// `<state.dir>/<application.id>/<task id>`; a persistent store lives in
    /// `<taskDirectory>/rocksdb/<store name>`.
    public let taskDirectory: String
    /// `nil` when the store is not logged (or outside a task).
    public let changelogSink: (any ChangelogSink)?
    /// The cache shared by the task's caching layers; `nil` or zero-sized disables caching.
    public let recordCache: RecordCache?
    public let recordContextHolder: any RecordContextHolder

    public init(
        applicationId: String,
        taskId: TaskId,
        taskDirectory: String,
        changelogSink: (any ChangelogSink)?,
        recordCache: RecordCache?,
        recordContextHolder: any RecordContextHolder
    ) {
        self.applicationId = applicationId
        self.taskId = taskId
        self.taskDirectory = taskDirectory
        self.changelogSink = changelogSink
        self.recordCache = recordCache
        self.recordContextHolder = recordContextHolder
    }

    /// A context for a store used on its own: no changelog, no cache.
    public static func standalone(directory: String, applicationId: String = "standalone") -> StateStoreContext {
        StateStoreContext(
            applicationId: applicationId,
            taskId: TaskId(subtopology: 0, partition: 0),
            taskDirectory: directory,
            changelogSink: nil,
            recordCache: nil,
            recordContextHolder: SimpleRecordContextHolder()
        )
    }
}

/// A record context that is just a variable.
public final class SimpleRecordContextHolder: RecordContextHolder {
    public var recordContext: RecordContext

    public init(_ recordContext: RecordContext = .punctuation(at: 0)) {
        self.recordContext = recordContext
    }
}

import KafkaProtocol

/// A processor's view of its task (Kafka Streams' `ProcessorContext<KForward, VForward>`): forward
/// records to the nodes after it, reach its stores, schedule punctuators, read the metadata of the
/// record being processed.
public final class ProcessorContext<KeyForward, ValueForward> {
    @usableFromInline let task: TaskContext
    /// The node this context belongs to.
    public let nodeName: String
    private let connectedStores: Set<String>
    /// The children's entry points, bound when the graph is built (see ``BuiltNode``): forwarding
    /// calls the child's own code directly, with no existential to open or witness table to look
    /// up per record. In the order they were added; `onlyChild` repeats the first when it is the
    /// only one (the common case: a call with no loop).
    ///
    /// Both change only while the task wires its graph, before any record, and the task runs on
    /// one thread at a time: their exclusive access is not checked at run time (a check per
    /// forward otherwise). `onlyChild` is unmanaged (`children` keeps it alive) so that calling it
    /// neither retains nor releases the entry.
    @exclusivity(unchecked) @usableFromInline var children: [RecordEntry<KeyForward, ValueForward>] = []
    @exclusivity(unchecked) @usableFromInline var onlyChild: Unmanaged<RecordEntry<KeyForward, ValueForward>>?
    private var childrenByName: [String: RecordEntry<KeyForward, ValueForward>] = [:]

    init(task: TaskContext, nodeName: String, connectedStores: Set<String>) {
        self.task = task
        self.nodeName = nodeName
        self.connectedStores = connectedStores
    }

    /// Adds a child through the entry point it was built with (see ``BuiltNode``).
    func addChild(_ receive: RecordEntry<KeyForward, ValueForward>, name: String) {
        children.append(receive)
        onlyChild = children.count == 1 ? Unmanaged.passUnretained(receive) : nil
        childrenByName[name] = receive
    }

    /// The names of the nodes this one forwards to.
    public var childNames: [String] { Array(childrenByName.keys).sorted() }

    public var applicationId: String { task.applicationId }
    public var taskId: TaskId { task.taskId }

    /// Topic, partition and offset of the input record being processed; `nil` in a punctuator.
    public var recordMetadata: RecordMetadata? { task.recordContext.metadata }

    /// The largest timestamp the task has processed (-1 before any record).
    public var currentStreamTime: Int64 { task.streamTime }

    /// The wall-clock time the task runs at, in milliseconds (the test driver's mock clock).
    public var currentSystemTime: Int64 { task.wallClockTime }

    /// Sends a record to every child. While the children run, the record's timestamp and headers
    /// are the task's current ones (stores stamp writes with them); the previous ones come back
    /// afterwards.
    @inlinable
    public func forward(_ record: StreamRecord<KeyForward, ValueForward>) throws {
        // Records without headers are the common case: then only the timestamp changes, and the
        // headers arrays are neither copied nor released (a reference count each way per node).
        if record.headers.isEmpty && task.recordContext.headers.isEmpty {
            let saved = task.recordContext.timestamp
            task.recordContext.timestamp = record.timestamp
            defer { task.recordContext.timestamp = saved }
            try forwardToChildren(record)
            return
        }
        var timestamp = record.timestamp
        var headers = record.headers
        task.recordContext.exchangeStamp(timestamp: &timestamp, headers: &headers)
        defer { task.recordContext.exchangeStamp(timestamp: &timestamp, headers: &headers) }
        try forwardToChildren(record)
    }

    @inlinable
    func forwardToChildren(_ record: StreamRecord<KeyForward, ValueForward>) throws {
        if let onlyChild {
            try onlyChild._withUnsafeGuaranteedRef { try $0.receive(record) }
        } else {
            for child in children { try child.receive(record) }
        }
    }

    /// Sends a record to the named child only.
    public func forward(_ record: StreamRecord<KeyForward, ValueForward>, to childName: String) throws {
        guard let child = childrenByName[childName] else {
            throw StreamsError.invalidTopology("\(nodeName) has no child named \(childName)")
        }
        var timestamp = record.timestamp
        var headers = record.headers
        task.recordContext.exchangeStamp(timestamp: &timestamp, headers: &headers)
        defer { task.recordContext.exchangeStamp(timestamp: &timestamp, headers: &headers) }
        try child.receive(record)
    }

    /// A store connected to this processor, as its outermost layer.
    public func stateStore(named name: String) throws -> any StateStore {
        guard connectedStores.contains(name), let store = task.stores[name] else {
            throw StateStoreError.unknownStore(store: name, processor: nodeName)
        }
        return store
    }

    /// A key-value store connected to this processor, typed.
    public func keyValueStore<Key, Value>(
        named name: String, keyType: Key.Type = Key.self, valueType: Value.Type = Value.self
    ) throws -> TypedKeyValueStore<Key, Value> {
        let store = try stateStore(named: name)
        guard let typed = store as? TypedKeyValueStore<Key, Value> else {
            throw StateStoreError.wrongType(
                store: name, expected: "\(TypedKeyValueStore<Key, Value>.self)", actual: "\(type(of: store))"
            )
        }
        return typed
    }

    /// Calls `punctuator` with the current time every `interval` of stream time or wall-clock
    /// time. While it runs there is no record metadata, and what it forwards carries the
    /// timestamps it chooses.
    @discardableResult
    public func schedule(
        interval: Duration, type: PunctuationType, _ punctuator: @escaping (_ timestamp: Int64) throws -> Void
    ) -> any Cancellable {
        task.schedule(nodeName: nodeName, interval: interval, type: type, punctuator: punctuator)
    }

    /// Asks the task to commit as soon as it can.
    public func commit() {
        task.commitRequested = true
    }
}

import NIOCore

/// Aggregates a grouped stream into a table: per record, the key's aggregate becomes
/// `aggregator(key, value, current ?? initial)`. Records with a null key or value are skipped.
/// The result is stamped with the later of the record's and the previous aggregate's timestamps.
///
/// `process` is `@inlinable`, and the DSL creates the processor in `@inlinable` code: the
/// per-record path is then compiled in the application's module, specialised for its key, value
/// and aggregate types, instead of looking up type metadata for every generic type it touches.
@usableFromInline
final class StreamAggregateProcessor<Key, Value, Aggregate>: Processor {
    @usableFromInline typealias KeyIn = Key
    @usableFromInline typealias ValueIn = Value
    @usableFromInline typealias KeyOut = Key
    @usableFromInline typealias ValueOut = Change<Aggregate>

    private let storeName: String
    /// The new aggregate from the key, the value and the current aggregate (`nil` for the first).
    @usableFromInline let step: @Sendable (Key, Value, Aggregate?) throws -> Aggregate
    private let nullKey = NullCheck<Key>()
    private let nullValue = NullCheck<Value>()
    /// Whether the key or value type can be null at all: for most types the per-record path
    /// then skips the null check entirely.
    @usableFromInline let checksNulls: Bool
    // Set once, then read per record by the task's one thread: no run-time exclusivity checks.
    @exclusivity(unchecked) @usableFromInline var store: TypedKeyValueStore<Key, Aggregate>!
    @exclusivity(unchecked) @usableFromInline var forwarder: TableForwarder<Key, Aggregate>!
    private var context: ProcessorContext<Key, Change<Aggregate>>!

    @usableFromInline
    init(storeName: String, step: @escaping @Sendable (Key, Value, Aggregate?) throws -> Aggregate) {
        self.storeName = storeName
        self.step = step
        self.checksNulls = nullKey.typeIsOptional || nullValue.typeIsOptional
    }

    @usableFromInline
    func initialize(context: ProcessorContext<Key, Change<Aggregate>>) throws {
        self.context = context
        store = try context.keyValueStore(named: storeName)
        forwarder = TableForwarder(store: store, context: context)
    }

    @inlinable
    func process(_ record: StreamRecord<Key, Value>) throws {
        if checksNulls, skipsNull(record) { return }
        // One read of each field per record (each read of a class's `var` costs a retain).
        let store = self.store!
        let forwarder = self.forwarder!
        let key = try store.keyBytes(record.key)
        var oldTimestamp = Int64.min
        let old = try store.get(keyBytes: key, timestamp: &oldTimestamp)
        let aggregate = try step(record.key, record.value, old)
        let timestamp = max(record.timestamp, oldTimestamp)
        try store.put(keyBytes: key, aggregate, timestamp: timestamp)
        try forwarder.maybeForward(StreamRecord(
            key: record.key, value: Change(newValue: aggregate, oldValue: old),
            timestamp: timestamp, headers: record.headers
        ))
    }

    /// Whether the record has a null key or value, which an aggregation skips (logged).
    @usableFromInline
    func skipsNull(_ record: StreamRecord<Key, Value>) -> Bool {
        guard nullKey.isNull(record.key) || nullValue.isNull(record.value) else { return false }
        context.task.logger.debug("aggregation skipping record with null key or value", metadata: ["node": "\(context.nodeName)"])
        return true
    }
}

/// Maps table updates to the rows of a regrouped table (`KTable.groupBy`): the old value is
/// taken out of the group it mapped to and the new value added to its group. When both map to
/// the same key, one record carries both; otherwise the subtraction goes first, as its own record.
final class TableRegroupProcessor<Key, Value, NewKey, NewValue>: Processor {
    typealias KeyIn = Key
    typealias ValueIn = Change<Value>
    typealias KeyOut = NewKey
    typealias ValueOut = Change<NewValue>

    private let selector: @Sendable (Key, Value) throws -> (NewKey, NewValue)
    private let keySerde: Serde<NewKey>
    private var context: ProcessorContext<NewKey, Change<NewValue>>!

    init(selector: @escaping @Sendable (Key, Value) throws -> (NewKey, NewValue), keySerde: Serde<NewKey>) {
        self.selector = selector
        self.keySerde = keySerde
    }

    func initialize(context: ProcessorContext<NewKey, Change<NewValue>>) throws {
        self.context = context
    }

    func process(_ record: StreamRecord<Key, Change<Value>>) throws {
        let old = try record.value.oldValue.map { try selector(record.key, $0) }
        let new = try record.value.newValue.map { try selector(record.key, $0) }
        if let old, let new, try sameKey(old.0, new.0) {
            try context.forward(record.with(key: new.0, value: Change(newValue: new.1, oldValue: old.1)))
            return
        }
        if let old {
            try context.forward(record.with(key: old.0, value: Change(newValue: nil, oldValue: old.1)))
        }
        if let new {
            try context.forward(record.with(key: new.0, value: Change(newValue: new.1, oldValue: nil)))
        }
    }

    /// Keys compare by their bytes: that is what decides their partition and their store row.
    private func sameKey(_ a: NewKey, _ b: NewKey) throws -> Bool {
        try keySerde.serialize(a) == keySerde.serialize(b)
    }
}

/// Aggregates a regrouped table: subtracts old values, adds new ones. Skips null keys.
/// `@inlinable` per record, as ``StreamAggregateProcessor`` is.
@usableFromInline
final class TableAggregateProcessor<Key, Value, Aggregate>: Processor {
    @usableFromInline typealias KeyIn = Key
    @usableFromInline typealias ValueIn = Change<Value>
    @usableFromInline typealias KeyOut = Key
    @usableFromInline typealias ValueOut = Change<Aggregate>

    private let storeName: String
    /// Adds a value to the current aggregate (`nil` before the first).
    @usableFromInline let add: @Sendable (Key, Value, Aggregate?) throws -> Aggregate
    /// Takes a value out of the current aggregate (`nil` when there is none); `nil` result deletes.
    @usableFromInline let subtract: @Sendable (Key, Value, Aggregate?) throws -> Aggregate?
    private let nullKey = NullCheck<Key>()
    /// Whether the key type can be null at all.
    @usableFromInline let checksNulls: Bool
    // Set once, then read per record by the task's one thread: no run-time exclusivity checks.
    @exclusivity(unchecked) @usableFromInline var store: TypedKeyValueStore<Key, Aggregate>!
    @exclusivity(unchecked) @usableFromInline var forwarder: TableForwarder<Key, Aggregate>!
    private var context: ProcessorContext<Key, Change<Aggregate>>!

    @usableFromInline
    init(
        storeName: String,
        add: @escaping @Sendable (Key, Value, Aggregate?) throws -> Aggregate,
        subtract: @escaping @Sendable (Key, Value, Aggregate?) throws -> Aggregate?
    ) {
        self.storeName = storeName
        self.add = add
        self.subtract = subtract
        self.checksNulls = nullKey.typeIsOptional
    }

    @usableFromInline
    func initialize(context: ProcessorContext<Key, Change<Aggregate>>) throws {
        self.context = context
        store = try context.keyValueStore(named: storeName)
        forwarder = TableForwarder(store: store, context: context)
    }

    @inlinable
    func process(_ record: StreamRecord<Key, Change<Value>>) throws {
        if checksNulls, isNullKey(record.key) { return }
        let store = self.store!
        let forwarder = self.forwarder!
        let key = try store.keyBytes(record.key)
        var oldTimestamp = Int64.min
        let old = try store.get(keyBytes: key, timestamp: &oldTimestamp)
        var aggregate = old
        if let oldValue = record.value.oldValue {
            aggregate = try subtract(record.key, oldValue, aggregate)
        }
        if let newValue = record.value.newValue {
            aggregate = try add(record.key, newValue, aggregate)
        }
        let timestamp = max(record.timestamp, oldTimestamp)
        try store.put(keyBytes: key, aggregate, timestamp: timestamp)
        try forwarder.maybeForward(StreamRecord(
            key: record.key, value: Change(newValue: aggregate, oldValue: old),
            timestamp: timestamp, headers: record.headers
        ))
    }

    @usableFromInline
    func isNullKey(_ key: Key) -> Bool {
        nullKey.isNull(key)
    }
}

import Logging

/// Turns records of a topic into table updates: writes its store and emits (new, old).
/// Null keys are dropped; a null value deletes; deleting an absent key emits nothing.
final class TableSourceProcessor<Key, Value>: Processor {
    typealias KeyIn = Key?
    typealias ValueIn = Value?
    typealias KeyOut = Key
    typealias ValueOut = Change<Value>

    private let storeName: String
    private var store: TypedKeyValueStore<Key, Value>!
    private var forwarder: TableForwarder<Key, Value>!
    private var context: ProcessorContext<Key, Change<Value>>!

    init(storeName: String) {
        self.storeName = storeName
    }

    func initialize(context: ProcessorContext<Key, Change<Value>>) throws {
        self.context = context
        store = try context.keyValueStore(named: storeName)
        forwarder = TableForwarder(store: store, context: context)
    }

    func process(_ record: StreamRecord<Key?, Value?>) throws {
        guard let key = record.key else {
            context.task.logger.warning("table source dropping record with null key", metadata: [
                "node": "\(context.nodeName)", "record": "\(context.recordMetadata.map { "\($0)" } ?? "-")",
            ])
            return
        }
        let old = try store.getWithTimestamp(key)
        if record.value == nil && old == nil { return }
        try store.put(key, record.value, timestamp: record.timestamp)
        try forwarder.maybeForward(record.with(key: key, value: Change(newValue: record.value, oldValue: old?.value)))
    }
}

/// A table operation that may be materialized: applies `transform` to new and old values,
/// skips updates that become (nil, nil), and writes its own store when it has one.
final class TableTransformProcessor<Key, Value, NewValue>: Processor {
    typealias KeyIn = Key
    typealias ValueIn = Change<Value>
    typealias KeyOut = Key
    typealias ValueOut = Change<NewValue>

    private let transform: @Sendable (Key, Value) throws -> NewValue?
    private let storeName: String?
    private var store: TypedKeyValueStore<Key, NewValue>?
    private var forwarder: TableForwarder<Key, NewValue>?
    private var context: ProcessorContext<Key, Change<NewValue>>!

    init(storeName: String?, transform: @escaping @Sendable (Key, Value) throws -> NewValue?) {
        self.storeName = storeName
        self.transform = transform
    }

    func initialize(context: ProcessorContext<Key, Change<NewValue>>) throws {
        self.context = context
        if let storeName {
            let store: TypedKeyValueStore<Key, NewValue> = try context.keyValueStore(named: storeName)
            self.store = store
            forwarder = TableForwarder(store: store, context: context)
        }
    }

    func process(_ record: StreamRecord<Key, Change<Value>>) throws {
        let key = record.key
        let newValue = try record.value.newValue.flatMap { try transform(key, $0) }
        let oldValue = try record.value.oldValue.flatMap { try transform(key, $0) }
        if newValue == nil && oldValue == nil { return }
        let output = record.withValue(Change(newValue: newValue, oldValue: oldValue))
        if let store, let forwarder {
            try store.put(key, newValue, timestamp: record.timestamp)
            try forwarder.maybeForward(output)
        } else {
            try context.forward(output)
        }
    }
}

/// Writes a stream into a table (`KStream.toTable`): each record is the key's new value (`nil` deletes).
final class StreamToTableProcessor<Key, Value, TableValue>: Processor {
    typealias KeyIn = Key
    typealias ValueIn = Value
    typealias KeyOut = Key
    typealias ValueOut = Change<TableValue>

    private let storeName: String
    private let toTableValue: @Sendable (Value) -> TableValue?
    private let nullKey = NullCheck<Key>()
    private var store: TypedKeyValueStore<Key, TableValue>!
    private var forwarder: TableForwarder<Key, TableValue>!

    init(storeName: String, toTableValue: @escaping @Sendable (Value) -> TableValue?) {
        self.storeName = storeName
        self.toTableValue = toTableValue
    }

    func initialize(context: ProcessorContext<Key, Change<TableValue>>) throws {
        store = try context.keyValueStore(named: storeName)
        forwarder = TableForwarder(store: store, context: context)
    }

    func process(_ record: StreamRecord<Key, Value>) throws {
        guard !nullKey.isNull(record.key) else { return }
        let newValue = toTableValue(record.value)
        let old = try store.getWithTimestamp(record.key)
        if newValue == nil && old == nil { return }
        try store.put(record.key, newValue, timestamp: record.timestamp)
        try forwarder.maybeForward(record.withValue(Change(newValue: newValue, oldValue: old?.value)))
    }
}

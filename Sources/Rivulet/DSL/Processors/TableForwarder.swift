/// How a table processor that writes a store emits its updates: through the store's cache when
/// it has one (one update per key per flush), else directly.
@usableFromInline
struct TableForwarder<Key, Value> {
    @usableFromInline let context: ProcessorContext<Key, Change<Value>>
    @usableFromInline let cached: Bool

    init(store: TypedKeyValueStore<Key, Value>, context: ProcessorContext<Key, Change<Value>>) {
        self.context = context
        self.cached = store.setTableFlushListener { [context] record in try context.forward(record) }
    }

    /// Forwards unless the cache will. The record is built only when it is forwarded: with a
    /// cache, the per-record path builds no record and no change.
    @inlinable @inline(__always)
    func maybeForward(_ record: @autoclosure () throws -> StreamRecord<Key, Change<Value>>) throws {
        if !cached { try context.forward(record()) }
    }
}

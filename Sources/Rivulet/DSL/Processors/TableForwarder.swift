/// How a table processor that writes a store emits its updates: through the store's cache when
/// it has one (one update per key per flush), else directly.
struct TableForwarder<Key, Value> {
    private let context: ProcessorContext<Key, Change<Value>>
    private let cached: Bool

    init(store: TypedKeyValueStore<Key, Value>, context: ProcessorContext<Key, Change<Value>>) {
        self.context = context
        self.cached = store.setTableFlushListener { [context] record in try context.forward(record) }
    }

    /// Forwards unless the cache will.
    func maybeForward(_ record: StreamRecord<Key, Change<Value>>) throws {
        if !cached { try context.forward(record) }
    }
}

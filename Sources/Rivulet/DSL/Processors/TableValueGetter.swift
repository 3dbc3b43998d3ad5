/// How a processor reads the current value of a table for a key, without the table having to be
/// materialized itself: a materialized table reads its store; a derived one asks its parent and
/// applies its own operation. Joins use it to look up the other side.
struct TableValueGetterSupplier<Key, Value>: Sendable {
    typealias Getter = (Key) throws -> ValueAndTimestamp<Value>?

    /// The stores the getter reads; the processor using it must be connected to them.
    let storeNames: [String]
    let make: @Sendable (StoreLookup) throws -> Getter

    /// Reads a timestamped store.
    static func store(_ name: String) -> TableValueGetterSupplier {
        TableValueGetterSupplier(storeNames: [name]) { lookup in
            let store = try lookup(name)
            guard let typed = store as? TypedKeyValueStore<Key, Value> else {
                throw StateStoreError.wrongType(
                    store: name, expected: "\(TypedKeyValueStore<Key, Value>.self)", actual: "\(type(of: store))"
                )
            }
            return { key in try typed.getWithTimestamp(key) }
        }
    }

    /// The parent's value, transformed (`nil` from `transform` hides the key).
    func map<NewValue>(
        _ transform: @escaping @Sendable (Key, Value) throws -> NewValue?
    ) -> TableValueGetterSupplier<Key, NewValue> {
        let parent = make
        return TableValueGetterSupplier<Key, NewValue>(storeNames: storeNames) { lookup in
            let get = try parent(lookup)
            return { key in
                guard let found = try get(key), let value = try transform(key, found.value) else { return nil }
                return ValueAndTimestamp(value, timestamp: found.timestamp)
            }
        }
    }
}

/// Finds a store by name for a value getter.
typealias StoreLookup = (String) throws -> any StateStore

extension ProcessorContext {
    /// The store lookup value getters use.
    var storeLookup: StoreLookup {
        { [unowned self] name in try self.stateStore(named: name) }
    }
}

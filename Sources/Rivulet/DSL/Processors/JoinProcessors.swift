/// Which rows a join keeps.
enum JoinKind: Sendable {
    /// Both sides present.
    case inner
    /// The left side present.
    case left
    /// Either side present.
    case outer

    /// The joined value, or `nil` where this kind of join has no row.
    @inline(__always)
    func combine<Left, Right, Result>(
        _ left: Left?, _ right: Right?, _ joiner: (Left?, Right?) throws -> Result
    ) rethrows -> Result? {
        switch self {
        case .inner: return left != nil && right != nil ? try joiner(left, right) : nil
        case .left: return left != nil ? try joiner(left, right) : nil
        case .outer: return left != nil || right != nil ? try joiner(left, right) : nil
        }
    }
}

/// Joins each stream record with the table's current value for its key. Only stream records
/// trigger output: a table update joins with later stream records, not earlier ones. Records
/// with a null value are dropped; a null key is dropped by an inner join and joined with no
/// table value by a left join.
final class StreamTableJoinProcessor<Key, Value, TableValue, Result>: Processor {
    typealias KeyIn = Key
    typealias ValueIn = Value
    typealias KeyOut = Key
    typealias ValueOut = Result

    private let getterSupplier: TableValueGetterSupplier<Key, TableValue>
    private let kind: JoinKind
    private let joiner: @Sendable (Key, Value, TableValue?) throws -> Result
    private let nullKey = NullCheck<Key>()
    private let nullValue = NullCheck<Value>()
    private var getter: TableValueGetterSupplier<Key, TableValue>.Getter!
    private var context: ProcessorContext<Key, Result>!

    init(
        table: TableValueGetterSupplier<Key, TableValue>, kind: JoinKind,
        joiner: @escaping @Sendable (Key, Value, TableValue?) throws -> Result
    ) {
        self.getterSupplier = table
        self.kind = kind
        self.joiner = joiner
    }

    func initialize(context: ProcessorContext<Key, Result>) throws {
        self.context = context
        getter = try getterSupplier.make(context.storeLookup)
    }

    func process(_ record: StreamRecord<Key, Value>) throws {
        if nullValue.isNull(record.value) { return }
        let tableValue: TableValue?
        if nullKey.isNull(record.key) {
            guard kind == .left else { return }
            tableValue = nil
        } else {
            tableValue = try getter(record.key)?.value
        }
        if kind == .inner && tableValue == nil { return }
        try context.forward(record.withValue(try joiner(record.key, record.value, tableValue)))
    }
}

/// One side of a table-table join: an update on this side is joined with the other side's
/// current value, old and new alike, so the result table gets a proper (new, old) update.
/// Stamped with the later of the two timestamps.
final class TableTableJoinProcessor<Key, ThisValue, OtherValue, Result>: Processor {
    typealias KeyIn = Key
    typealias ValueIn = Change<ThisValue>
    typealias KeyOut = Key
    typealias ValueOut = Change<Result>

    private let otherSupplier: TableValueGetterSupplier<Key, OtherValue>
    private let combine: @Sendable (ThisValue?, OtherValue?) throws -> Result?
    private var other: TableValueGetterSupplier<Key, OtherValue>.Getter!
    private var context: ProcessorContext<Key, Change<Result>>!

    /// `combine` applies the join kind and the joiner with this side's value first.
    init(other: TableValueGetterSupplier<Key, OtherValue>, combine: @escaping @Sendable (ThisValue?, OtherValue?) throws -> Result?) {
        self.otherSupplier = other
        self.combine = combine
    }

    func initialize(context: ProcessorContext<Key, Change<Result>>) throws {
        self.context = context
        other = try otherSupplier.make(context.storeLookup)
    }

    func process(_ record: StreamRecord<Key, Change<ThisValue>>) throws {
        let otherValue = try other(record.key)
        let newValue = try combine(record.value.newValue, otherValue?.value)
        let oldValue = try combine(record.value.oldValue, otherValue?.value)
        if newValue == nil && oldValue == nil { return }
        let timestamp = max(record.timestamp, otherValue?.timestamp ?? Int64.min)
        try context.forward(StreamRecord(
            key: record.key, value: Change(newValue: newValue, oldValue: oldValue),
            timestamp: timestamp, headers: record.headers
        ))
    }
}

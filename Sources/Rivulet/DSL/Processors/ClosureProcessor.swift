/// A stateless DSL processor: one closure that receives a record and forwards what it wants.
/// Every stateless KStream and KTable operation is one of these, so a record crosses each with
/// one closure call and no allocation of its own.
@usableFromInline
final class ClosureProcessor<KeyIn, ValueIn, KeyOut, ValueOut>: Processor {
    @usableFromInline typealias Body = @Sendable (StreamRecord<KeyIn, ValueIn>, ProcessorContext<KeyOut, ValueOut>) throws -> Void

    @usableFromInline let body: Body
    @usableFromInline var context: ProcessorContext<KeyOut, ValueOut>!

    @usableFromInline
    init(_ body: @escaping Body) {
        self.body = body
    }

    @usableFromInline
    func initialize(context: ProcessorContext<KeyOut, ValueOut>) throws {
        self.context = context
    }

    @inlinable
    func process(_ record: StreamRecord<KeyIn, ValueIn>) throws {
        try body(record, context)
    }
}

/// Forwards records by the first predicate they satisfy, to the child of the same index (the
/// default branch, if any, takes the rest).
final class BranchProcessor<Key, Value>: Processor {
    typealias KeyIn = Key
    typealias ValueIn = Value
    typealias KeyOut = Key
    typealias ValueOut = Value

    private let branches: [(child: String, predicate: @Sendable (Key, Value) throws -> Bool)]
    private let defaultChild: String?
    private var context: ProcessorContext<Key, Value>!

    init(branches: [(child: String, predicate: @Sendable (Key, Value) throws -> Bool)], defaultChild: String?) {
        self.branches = branches
        self.defaultChild = defaultChild
    }

    func initialize(context: ProcessorContext<Key, Value>) throws {
        self.context = context
    }

    func process(_ record: StreamRecord<Key, Value>) throws {
        for branch in branches where try branch.predicate(record.key, record.value) {
            try context.forward(record, to: branch.child)
            return
        }
        if let defaultChild { try context.forward(record, to: defaultChild) }
    }
}

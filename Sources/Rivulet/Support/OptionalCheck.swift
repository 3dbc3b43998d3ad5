/// Lets generic code ask whether a value of an unconstrained type is `Optional.none`: the DSL
/// skips null keys and values (as Kafka Streams does for joins and aggregations) without
/// requiring every key and value type to be optional.
protocol NilCheckable {
    var isNil: Bool { get }
}

extension Optional: NilCheckable {
    var isNil: Bool { self == nil }
}

/// Answers "is this value null?" for one type, deciding once whether the type can be null at
/// all so that the per-record check costs nothing for non-optional types.
struct NullCheck<T>: Sendable {
    let typeIsOptional: Bool

    init() {
        typeIsOptional = T.self is any NilCheckable.Type
    }

    @inline(__always)
    func isNull(_ value: T) -> Bool {
        guard typeIsOptional else { return false }
        return (value as? any NilCheckable)?.isNil ?? false
    }
}

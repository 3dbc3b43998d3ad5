/// Lets generic code ask whether a value of an unconstrained type is `Optional.none`: the DSL
/// skips null keys and values (as Kafka Streams does for joins and aggregations) without
/// requiring every key and value type to be optional.
@usableFromInline
protocol NilCheckable {
    var isNil: Bool { get }
}

extension Optional: NilCheckable {
    @inlinable
    var isNil: Bool { self == nil }
}

/// Answers "is this value null?" for one type, deciding once whether the type can be null at
/// all so that the per-record check costs nothing for non-optional types.
@usableFromInline
struct NullCheck<T>: Sendable {
    @usableFromInline let typeIsOptional: Bool

    @usableFromInline
    init() {
        typeIsOptional = T.self is any NilCheckable.Type
    }

    @inlinable
    func isNull(_ value: T) -> Bool {
        guard typeIsOptional else { return false }
        return (value as? any NilCheckable)?.isNil ?? false
    }
}

/// An update of a table row: the value after and the value before (Kafka Streams' `Change<V>`).
/// `newValue == nil` is a delete; `oldValue == nil` means the key was absent. Table operators pass
/// both along so that aggregations downstream can take the old value out before adding the new.
public struct Change<Value> {
    public var newValue: Value?
    public var oldValue: Value?

    @inlinable
    public init(newValue: Value?, oldValue: Value?) {
        self.newValue = newValue
        self.oldValue = oldValue
    }
}

extension Change: Sendable where Value: Sendable {}
extension Change: Equatable where Value: Equatable {}

extension Change: CustomStringConvertible {
    public var description: String {
        "(\(newValue.map { "\($0)" } ?? "null")<-\(oldValue.map { "\($0)" } ?? "null"))"
    }
}

/// Serdes and name for a stream-table join: the stream side's serdes are needed when the stream
/// must be repartitioned first (its key changed), in `<name>-repartition`.
public struct Joined<Key, Value, OtherValue>: Sendable {
    public var name: String?
    public var keySerde: Serde<Key>?
    public var valueSerde: Serde<Value>?
    public var otherValueSerde: Serde<OtherValue>?

    /// A name and the serdes to repartition the stream side with; `nil` ones are taken from upstream or inferred.
    public init(name: String? = nil, keySerde: Serde<Key>? = nil, valueSerde: Serde<Value>? = nil, otherValueSerde: Serde<OtherValue>? = nil) {
        self.name = name
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.otherValueSerde = otherValueSerde
    }

    /// Repartitions the stream side with these serdes.
    public static func with(_ keySerde: Serde<Key>, _ valueSerde: Serde<Value>, _ otherValueSerde: Serde<OtherValue>? = nil) -> Joined {
        Joined(keySerde: keySerde, valueSerde: valueSerde, otherValueSerde: otherValueSerde)
    }

    /// Names the join node and its repartition topic `<name>-repartition`.
    public static func `as`(_ name: String) -> Joined {
        Joined(name: name)
    }

    /// Names the join node and its repartition topic.
    public func withName(_ name: String) -> Joined {
        var copy = self
        copy.name = name
        return copy
    }
}

/// How records are grouped for an aggregation: serdes for the repartition topic (when the key
/// changed upstream) and its name, `<application.id>-<name>-repartition`.
public struct Grouped<Key, Value>: Sendable {
    public var name: String?
    public var keySerde: Serde<Key>?
    public var valueSerde: Serde<Value>?

    /// A repartition topic name and serdes; `nil` ones are taken from upstream or inferred.
    public init(name: String? = nil, keySerde: Serde<Key>? = nil, valueSerde: Serde<Value>? = nil) {
        self.name = name
        self.keySerde = keySerde
        self.valueSerde = valueSerde
    }

    /// Repartitions with these serdes.
    public static func with(_ keySerde: Serde<Key>, _ valueSerde: Serde<Value>) -> Grouped {
        Grouped(keySerde: keySerde, valueSerde: valueSerde)
    }

    /// Names the repartition topic `<application.id>-<name>-repartition`.
    public static func `as`(_ name: String) -> Grouped {
        Grouped(name: name)
    }

    /// Names the repartition topic.
    public func withName(_ name: String) -> Grouped {
        var copy = self
        copy.name = name
        return copy
    }

    /// Repartitions keys with `serde`.
    public func withKeySerde(_ serde: Serde<Key>) -> Grouped {
        var copy = self
        copy.keySerde = serde
        return copy
    }

    /// Repartitions values with `serde`.
    public func withValueSerde(_ serde: Serde<Value>) -> Grouped {
        var copy = self
        copy.valueSerde = serde
        return copy
    }
}

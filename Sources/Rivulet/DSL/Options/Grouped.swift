/// How records are grouped for an aggregation: serdes for the repartition topic (when the key
/// changed upstream) and its name, `<application.id>-<name>-repartition`.
public struct Grouped<Key, Value>: Sendable {
    public var name: String?
    public var keySerde: Serde<Key>?
    public var valueSerde: Serde<Value>?

    public init(name: String? = nil, keySerde: Serde<Key>? = nil, valueSerde: Serde<Value>? = nil) {
        self.name = name
        self.keySerde = keySerde
        self.valueSerde = valueSerde
    }

    public static func with(_ keySerde: Serde<Key>, _ valueSerde: Serde<Value>) -> Grouped {
        Grouped(keySerde: keySerde, valueSerde: valueSerde)
    }

    public static func `as`(_ name: String) -> Grouped {
        Grouped(name: name)
    }

    public func withName(_ name: String) -> Grouped {
        var copy = self
        copy.name = name
        return copy
    }

    public func withKeySerde(_ serde: Serde<Key>) -> Grouped {
        var copy = self
        copy.keySerde = serde
        return copy
    }

    public func withValueSerde(_ serde: Serde<Value>) -> Grouped {
        var copy = self
        copy.valueSerde = serde
        return copy
    }
}

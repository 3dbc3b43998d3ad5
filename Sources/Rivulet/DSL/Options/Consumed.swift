/// How a source reads a topic: serdes, and optionally where timestamps come from and the source's name.
public struct Consumed<Key, Value>: Sendable {
    public var keySerde: Serde<Key>
    public var valueSerde: Serde<Value>
    public var timestampExtractor: TimestampExtractor?
    public var processorName: String?

    /// Reads keys and values with these serdes; `nil` extractor and name take the defaults.
    public init(keySerde: Serde<Key>, valueSerde: Serde<Value>, timestampExtractor: TimestampExtractor? = nil, processorName: String? = nil) {
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.timestampExtractor = timestampExtractor
        self.processorName = processorName
    }

    /// Reads keys and values with these serdes.
    public static func with(_ keySerde: Serde<Key>, _ valueSerde: Serde<Value>) -> Consumed {
        Consumed(keySerde: keySerde, valueSerde: valueSerde)
    }

    /// Takes record timestamps from `extractor` instead of the configured default.
    public func withTimestampExtractor(_ extractor: TimestampExtractor) -> Consumed {
        var copy = self
        copy.timestampExtractor = extractor
        return copy
    }

    /// Names the source node.
    public func withName(_ name: String) -> Consumed {
        var copy = self
        copy.processorName = name
        return copy
    }
}

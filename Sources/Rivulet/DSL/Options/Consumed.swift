/// How a source reads a topic: serdes, and optionally where timestamps come from and the source's name.
public struct Consumed<Key, Value>: Sendable {
    public var keySerde: Serde<Key>
    public var valueSerde: Serde<Value>
    public var timestampExtractor: TimestampExtractor?
    public var processorName: String?

    public init(keySerde: Serde<Key>, valueSerde: Serde<Value>, timestampExtractor: TimestampExtractor? = nil, processorName: String? = nil) {
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.timestampExtractor = timestampExtractor
        self.processorName = processorName
    }

    public static func with(_ keySerde: Serde<Key>, _ valueSerde: Serde<Value>) -> Consumed {
        Consumed(keySerde: keySerde, valueSerde: valueSerde)
    }

    public func withTimestampExtractor(_ extractor: TimestampExtractor) -> Consumed {
        var copy = self
        copy.timestampExtractor = extractor
        return copy
    }

    public func withName(_ name: String) -> Consumed {
        var copy = self
        copy.processorName = name
        return copy
    }
}

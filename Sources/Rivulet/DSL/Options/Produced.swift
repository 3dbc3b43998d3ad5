/// How a sink writes a topic: serdes, and optionally a partitioner and the sink's name.
///
/// Serdes left out are taken from upstream (when the types have not changed since a source or a
/// `Grouped`/`Materialized` that named them) or inferred from the types (``Serde/inferred()``).
public struct Produced<Key, Value>: Sendable {
    public var keySerde: Serde<Key>?
    public var valueSerde: Serde<Value>?
    public var partitioner: StreamPartitioner<Key, Value>?
    public var processorName: String?

    /// Writes with these serdes (inferred when `nil`), partitioner and sink name.
    public init(keySerde: Serde<Key>? = nil, valueSerde: Serde<Value>? = nil, partitioner: StreamPartitioner<Key, Value>? = nil, processorName: String? = nil) {
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.partitioner = partitioner
        self.processorName = processorName
    }

    /// Writes keys and values with these serdes.
    public static func with(_ keySerde: Serde<Key>, _ valueSerde: Serde<Value>) -> Produced {
        Produced(keySerde: keySerde, valueSerde: valueSerde)
    }

    /// Writes with these serdes, choosing partitions with `partitioner`.
    public static func with(_ keySerde: Serde<Key>, _ valueSerde: Serde<Value>, partitioner: StreamPartitioner<Key, Value>) -> Produced {
        Produced(keySerde: keySerde, valueSerde: valueSerde, partitioner: partitioner)
    }

    /// Chooses partitions with `partitioner`.
    public func withStreamPartitioner(_ partitioner: StreamPartitioner<Key, Value>) -> Produced {
        var copy = self
        copy.partitioner = partitioner
        return copy
    }

    /// Names the sink node.
    public func withName(_ name: String) -> Produced {
        var copy = self
        copy.processorName = name
        return copy
    }
}

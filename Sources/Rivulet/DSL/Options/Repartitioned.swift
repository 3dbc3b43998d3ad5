/// How `KStream.repartition` writes its topic `<application.id>-<name>-repartition`: serdes,
/// partition count (by default that of the upstream source topics) and partitioner.
public struct Repartitioned<Key, Value>: Sendable {
    public var name: String?
    public var keySerde: Serde<Key>?
    public var valueSerde: Serde<Value>?
    public var numberOfPartitions: Int32?
    public var partitioner: StreamPartitioner<Key, Value>?

    /// A topic name, serdes, partition count and partitioner; `nil` ones are generated, taken from upstream or inferred.
    public init(
        name: String? = nil, keySerde: Serde<Key>? = nil, valueSerde: Serde<Value>? = nil,
        numberOfPartitions: Int32? = nil, partitioner: StreamPartitioner<Key, Value>? = nil
    ) {
        self.name = name
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.numberOfPartitions = numberOfPartitions
        self.partitioner = partitioner
    }

    /// Repartitions with these serdes.
    public static func with(_ keySerde: Serde<Key>, _ valueSerde: Serde<Value>) -> Repartitioned {
        Repartitioned(keySerde: keySerde, valueSerde: valueSerde)
    }

    /// Names the topic `<application.id>-<name>-repartition`.
    public static func `as`(_ name: String) -> Repartitioned {
        Repartitioned(name: name)
    }

    /// Names the topic.
    public func withName(_ name: String) -> Repartitioned {
        var copy = self
        copy.name = name
        return copy
    }

    /// Creates the topic with `count` partitions instead of the upstream count.
    public func withNumberOfPartitions(_ count: Int32) -> Repartitioned {
        var copy = self
        copy.numberOfPartitions = count
        return copy
    }

    /// Chooses partitions with `partitioner`.
    public func withStreamPartitioner(_ partitioner: StreamPartitioner<Key, Value>) -> Repartitioned {
        var copy = self
        copy.partitioner = partitioner
        return copy
    }
}

import KafkaProtocol
import NIOCore
import Rivulet

/// A record read from a ``TestOutputTopic``.
public struct TestRecord<Key, Value> {
    public var key: Key
    public var value: Value
    public var timestamp: Int64
    public var headers: [RecordHeader]
    /// The partition the record was written to (what the sink's partitioner chose).
    public var partition: Int32

    public init(key: Key, value: Value, timestamp: Int64, headers: [RecordHeader] = [], partition: Int32 = 0) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
        self.partition = partition
    }
}

extension TestRecord: Equatable where Key: Equatable, Value: Equatable {}

/// An output topic of a ``TopologyTestDriver``: reads what the topology wrote, oldest first
/// (Kafka's `TestOutputTopic`). Reading consumes.
public final class TestOutputTopic<Key, Value> {
    private unowned let driver: TopologyTestDriver
    public let topic: String
    private let keySerde: Serde<Key>
    private let valueSerde: Serde<Value>

    init(driver: TopologyTestDriver, topic: String, keySerde: Serde<Key>, valueSerde: Serde<Value>) {
        self.driver = driver
        self.topic = topic
        self.keySerde = keySerde
        self.valueSerde = valueSerde
    }

    /// How many records wait to be read.
    public var queueSize: Int { driver.collector.count(of: topic) }
    public var isEmpty: Bool { queueSize == 0 }

    /// The next record; `nil` when none is left.
    public func readRecord() throws -> TestRecord<Key, Value>? {
        guard let raw = driver.collector.take(from: topic) else { return nil }
        return TestRecord(
            key: try keySerde.deserialize(raw.key), value: try valueSerde.deserialize(raw.value),
            timestamp: raw.timestamp, headers: raw.headers, partition: raw.partition
        )
    }

    /// The next record's key and value; `nil` when none is left.
    public func readKeyValue() throws -> KeyValue<Key, Value>? {
        try readRecord().map { KeyValue($0.key, $0.value) }
    }

    /// Every record left, oldest first.
    public func readRecordsToList() throws -> [TestRecord<Key, Value>] {
        var records: [TestRecord<Key, Value>] = []
        while let record = try readRecord() { records.append(record) }
        return records
    }

    /// The key and value of every record left.
    public func readKeyValuesToList() throws -> [KeyValue<Key, Value>] {
        try readRecordsToList().map { KeyValue($0.key, $0.value) }
    }

    /// The value of every record left.
    public func readValuesToList() throws -> [Value] {
        try readRecordsToList().map(\.value)
    }
}

extension TestOutputTopic where Key: Hashable {
    /// The latest value per key, as a compacted topic would keep it: a null value removes the key.
    public func readKeyValuesToMap() throws -> [Key: Value] {
        var map: [Key: Value] = [:]
        while let raw = driver.collector.take(from: topic) {
            let key = try keySerde.deserialize(raw.key)
            if raw.value == nil {
                map[key] = nil
            } else {
                map[key] = try valueSerde.deserialize(raw.value)
            }
        }
        return map
    }
}

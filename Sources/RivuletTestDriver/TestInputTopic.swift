import KafkaProtocol
import NIOCore
import Rivulet

/// An input topic of a ``TopologyTestDriver``: pipes typed records in (Kafka's `TestInputTopic`).
public final class TestInputTopic<Key, Value> {
    private unowned let driver: TopologyTestDriver
    public let topic: String
    private let keySerde: Serde<Key>
    private let valueSerde: Serde<Value>
    /// The timestamp of the next record piped without one.
    public private(set) var currentTime: Int64
    private let autoAdvance: Int64

    init(driver: TopologyTestDriver, topic: String, keySerde: Serde<Key>, valueSerde: Serde<Value>,
         startTimestamp: Int64, autoAdvance: Duration) {
        self.driver = driver
        self.topic = topic
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.currentTime = startTimestamp
        let (seconds, attoseconds) = autoAdvance.components
        self.autoAdvance = seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Pipes one record and processes it.
    public func pipeInput(_ key: Key, _ value: Value, timestamp: Int64? = nil, headers: [RecordHeader] = []) throws {
        try pipe(key: try keySerde.serialize(key), value: try valueSerde.serialize(value), timestamp: timestamp, headers: headers)
    }

    /// Pipes a record without a key.
    public func pipeInput(_ value: Value, timestamp: Int64? = nil, headers: [RecordHeader] = []) throws {
        try pipe(key: nil, value: try valueSerde.serialize(value), timestamp: timestamp, headers: headers)
    }

    /// Pipes a record with a null value (a tombstone).
    public func pipeTombstone(_ key: Key, timestamp: Int64? = nil) throws {
        try pipe(key: try keySerde.serialize(key), value: nil, timestamp: timestamp, headers: [])
    }

    /// Pipes raw bytes, for records no serde would write (e.g. to test deserialization failures).
    public func pipeRawInput(key: [UInt8]?, value: [UInt8]?, timestamp: Int64? = nil) throws {
        try pipe(key: key.map { ByteBuffer(bytes: $0) }, value: value.map { ByteBuffer(bytes: $0) }, timestamp: timestamp, headers: [])
    }

    /// Pipes a test record with its key, value, timestamp and headers.
    public func pipeRecord(_ record: TestRecord<Key, Value>) throws {
        try pipeInput(record.key, record.value, timestamp: record.timestamp, headers: record.headers)
    }

    /// Pipes records in order, with the topic's clock for timestamps.
    public func pipeKeyValueList(_ records: [KeyValue<Key, Value>]) throws {
        for record in records { try pipeInput(record.key, record.value) }
    }

    /// Pipes keyless records in order.
    public func pipeValueList(_ values: [Value]) throws {
        for value in values { try pipeInput(value) }
    }

    /// Moves the time of records piped without a timestamp.
    public func advanceTime(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        currentTime += seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    private func pipe(key: ByteBuffer?, value: ByteBuffer?, timestamp: Int64?, headers: [RecordHeader]) throws {
        let time: Int64
        if let timestamp {
            time = timestamp
        } else {
            time = currentTime
            currentTime += autoAdvance
        }
        try driver.pipe(topic: topic, key: key, value: value, timestamp: time, headers: headers)
    }
}

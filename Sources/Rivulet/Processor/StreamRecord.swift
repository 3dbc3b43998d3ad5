import KafkaProtocol

/// A record inside a topology: typed key and value, timestamp and headers (Kafka Streams'
/// processor-API `Record`; named apart from KafkaProtocol's wire-level `Record`).
///
/// Null keys and values are expressed by the types: a `StreamRecord<String?, V>` may be keyless,
/// a `StreamRecord<String, V>` may not.
public struct StreamRecord<Key, Value> {
    // Timestamp and headers come first: their offsets do not depend on the key and value types,
    // so generic code reads them without asking the runtime for the record type's layout.
    /// Milliseconds since the epoch; drives stream time, windows and join timestamps.
    public var timestamp: Int64
    public var headers: [RecordHeader]
    public var key: Key
    public var value: Value

    @inlinable
    public init(key: Key, value: Value, timestamp: Int64, headers: [RecordHeader] = []) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
    }

    /// The same record with another key (and key type).
    @inlinable
    public func withKey<NewKey>(_ key: NewKey) -> StreamRecord<NewKey, Value> {
        StreamRecord<NewKey, Value>(key: key, value: value, timestamp: timestamp, headers: headers)
    }

    /// The same record with another value (and value type).
    @inlinable
    public func withValue<NewValue>(_ value: NewValue) -> StreamRecord<Key, NewValue> {
        StreamRecord<Key, NewValue>(key: key, value: value, timestamp: timestamp, headers: headers)
    }

    /// The same record with another key and value.
    @inlinable
    public func with<NewKey, NewValue>(key: NewKey, value: NewValue) -> StreamRecord<NewKey, NewValue> {
        StreamRecord<NewKey, NewValue>(key: key, value: value, timestamp: timestamp, headers: headers)
    }

    /// The same record with another timestamp.
    @inlinable
    public func withTimestamp(_ timestamp: Int64) -> StreamRecord {
        var copy = self
        copy.timestamp = timestamp
        return copy
    }
}

extension StreamRecord: Sendable where Key: Sendable, Value: Sendable {}
extension StreamRecord: Equatable where Key: Equatable, Value: Equatable {}

import KafkaProtocol
import NIOCore

/// A record to send: where it goes, its key, value and headers, and optionally its timestamp.
///
/// ```swift
/// let record = ProducerRecord(topic: "orders", key: "order-42", value: #"{"total": 19.99}"#)
/// ```
public struct ProducerRecord: Sendable {
    public var topic: String
    /// The partition; `nil` lets the configured `Partitioner` choose (by key by default).
    public var partition: Int32?
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// Milliseconds since the Unix epoch; `nil` stamps the record with the time of `send`.
    public var timestamp: Int64?

    public init(topic: String, partition: Int32? = nil, key: ByteBuffer? = nil, value: ByteBuffer?,
                headers: [RecordHeader] = [], timestamp: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// A record whose key and value are UTF-8 text.
    public init(topic: String, partition: Int32? = nil, key: String? = nil, value: String?,
                headers: [RecordHeader] = [], timestamp: Int64? = nil) {
        self.init(topic: topic, partition: partition, key: key.map { ByteBuffer(string: $0) },
                  value: value.map { ByteBuffer(string: $0) }, headers: headers, timestamp: timestamp)
    }
}

import KafkaProtocol
import NIOCore

/// Records whose keys and values are serialised one after another into one buffer, handed to
/// the producer together (``KafkaProducer/sendAndForget(_:)-(SerializedRecords)``).
///
/// A stream thread writes thousands of small records between two hand-overs: kept as
/// `ProducerRecord`s, each would cost a buffer, four reference counts and a value-witness copy
/// on every step to the batch. Here a record is a plain entry (no references) pointing into
/// the shared buffer, and the producer appends a run of them under one lock.
package struct SerializedRecords: Sendable {
    /// One record: where its bytes are in ``bytes`` and where it goes.
    package struct Entry: Sendable {
        /// Index into ``topics``.
        package var topic: Int32
        /// Index into ``headerLists``, or -1 for none.
        package var headers: Int32
        /// `nil` lets the producer's partitioner choose.
        package var partition: Int32?
        package var timestamp: Int64
        /// Where the key starts in ``bytes``; the value follows it.
        package var start: Int
        /// -1 for a null key or value.
        package var keyLength: Int
        package var valueLength: Int

        var valueStart: Int { start + max(keyLength, 0) }
    }

    package private(set) var topics: [String] = []
    /// Every record's key and value bytes, one record after the other from index 0.
    package private(set) var bytes: ByteBuffer
    /// In the order the records are sent; removing some leaves their bytes unused in ``bytes``.
    package var entries: [Entry] = []
    package private(set) var headerLists: [[RecordHeader]] = []
    /// The index of the topic looked up last: records mostly come in runs of one topic.
    private var lastTopic: Int32 = -1

    /// - Parameters:
    ///   - byteCapacity: the bytes reserved for keys and values up front.
    ///   - recordCapacity: the records reserved for up front.
    package init(byteCapacity: Int = 1024, recordCapacity: Int = 0) {
        bytes = ByteBufferAllocator().buffer(capacity: byteCapacity)
        entries.reserveCapacity(recordCapacity)
    }

    package var isEmpty: Bool { entries.isEmpty }
    package var count: Int { entries.count }

    /// Adds a record whose key and value `serialize` writes at the buffer's writer index, key
    /// first, returning their lengths (`nil` for null). When `serialize` throws, nothing is added.
    package mutating func append(
        topic: String, partition: Int32?, timestamp: Int64, headers: [RecordHeader],
        serialize: (inout ByteBuffer) throws -> (keyLength: Int?, valueLength: Int?)
    ) rethrows {
        let start = bytes.writerIndex
        let lengths: (keyLength: Int?, valueLength: Int?)
        do {
            lengths = try serialize(&bytes)
        } catch {
            bytes.moveWriterIndex(to: start)
            throw error
        }
        entries.append(Entry(
            topic: index(of: topic), headers: headerIndex(headers), partition: partition, timestamp: timestamp,
            start: start, keyLength: lengths.keyLength ?? -1, valueLength: lengths.valueLength ?? -1))
    }

    /// Adds a record, copying its key and value.
    package mutating func append(topic: String, partition: Int32?, timestamp: Int64,
                                 key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) {
        append(topic: topic, partition: partition, timestamp: timestamp, headers: headers) { bytes in
            var keyLength: Int?
            var valueLength: Int?
            if var key { keyLength = bytes.writeBuffer(&key) }
            if var value { valueLength = bytes.writeBuffer(&value) }
            return (keyLength, valueLength)
        }
    }

    /// Adds a `ProducerRecord`; one without a timestamp is stamped with the time now.
    package mutating func append(_ record: ProducerRecord) {
        append(topic: record.topic, partition: record.partition, timestamp: record.timestamp ?? WallClock.nowMilliseconds(),
               key: record.key, value: record.value, headers: record.headers)
    }

    /// The record at `index` as a `ProducerRecord` (its key and value are slices of ``bytes``).
    package func record(at index: Int) -> ProducerRecord {
        let entry = entries[index]
        return ProducerRecord(
            topic: topics[Int(entry.topic)], partition: entry.partition,
            key: entry.keyLength < 0 ? nil : bytes.getSlice(at: entry.start, length: entry.keyLength),
            value: entry.valueLength < 0 ? nil : bytes.getSlice(at: entry.valueStart, length: entry.valueLength),
            headers: headers(of: entry), timestamp: entry.timestamp)
    }

    /// The topic of the record at `index`.
    package func topic(at index: Int) -> String {
        topics[Int(entries[index].topic)]
    }

    func headers(of entry: Entry) -> [RecordHeader] {
        entry.headers < 0 ? [] : headerLists[Int(entry.headers)]
    }

    /// The index of `topic` in ``topics``, added if new. A sink's topic is the same string every
    /// time, so the comparison with the last one is a pointer check, with no hashing.
    private mutating func index(of topic: String) -> Int32 {
        if lastTopic >= 0, topics[Int(lastTopic)] == topic { return lastTopic }
        let found = topics.firstIndex(of: topic) ?? {
            topics.append(topic)
            return topics.count - 1
        }()
        lastTopic = Int32(found)
        return lastTopic
    }

    private mutating func headerIndex(_ headers: [RecordHeader]) -> Int32 {
        guard !headers.isEmpty else { return -1 }
        headerLists.append(headers)
        return Int32(headerLists.count - 1)
    }
}

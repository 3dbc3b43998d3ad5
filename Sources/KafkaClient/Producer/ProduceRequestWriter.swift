import KafkaProtocol
import NIOCore

/// Writes a ProduceRequest body with each batch compressed straight into the request buffer:
/// no intermediate batch buffer, no copy of the records field into the frame.
///
/// Mirrors the generated `ProduceRequest.encode`, which needs the batches as finished buffers.
/// A flexible version (9+) prefixes the records with a varint length, unknown until the codec
/// has run: five bytes are reserved, and when the varint is shorter the batch is moved down
/// by the difference (one `memmove` within the buffer).
enum ProduceRequestWriter {
    /// Magic-2 batches need Produce v3 or later.
    static let minimumVersion: Int16 = 3

    /// Appends the request body.
    /// - Throws: `EncodingFailure` naming the batch whose records could not be encoded; the
    ///   buffer's contents are then undefined.
    static func write(_ batches: [ProducerBatch], acks: Int16, timeoutMs: Int32, transactionalId: String?,
                      version: Int16, into buffer: inout ByteBuffer) throws {
        let flexible = version >= 9
        if version >= 3 {
            try buffer.writeKafkaString(transactionalId, compact: flexible)
        }
        buffer.writeInteger(acks)
        buffer.writeInteger(timeoutMs)

        // Batches arrive in drain order; the request groups them by topic.
        var topics: [String] = []
        var byTopic: [String: [ProducerBatch]] = [:]
        for batch in batches {
            let topic = batch.topicPartition.topic
            if byTopic[topic] == nil { topics.append(topic) }
            byTopic[topic, default: []].append(batch)
        }
        buffer.writeKafkaArrayCount(topics.count, compact: flexible)
        for topic in topics {
            let partitions = byTopic[topic]!
            try buffer.writeKafkaString(topic, compact: flexible)
            buffer.writeKafkaArrayCount(partitions.count, compact: flexible)
            for batch in partitions {
                buffer.writeInteger(batch.topicPartition.partition)
                do {
                    try writeRecords(batch, compact: flexible, into: &buffer)
                } catch {
                    throw EncodingFailure(batch: batch, reason: "\(error)")
                }
                if flexible { buffer.writeUnsignedVarint(0) } // partition tagged fields
            }
            if flexible { buffer.writeUnsignedVarint(0) } // topic tagged fields
        }
        if flexible { buffer.writeUnsignedVarint(0) } // request tagged fields
    }

    /// A batch that could not be encoded (a codec failed).
    struct EncodingFailure: Error {
        var batch: ProducerBatch
        var reason: String
    }

    /// The buffer capacity a request with these batches needs, compression bounds included,
    /// so that compressing into it never reallocates.
    static func capacity(for batches: [ProducerBatch]) -> Int {
        batches.reduce(512) { total, batch in
            let size = batch.estimatedSize
            return total + size + size / 64 + batch.topicPartition.topic.utf8.count + 128
        }
    }

    private static func writeRecords(_ batch: ProducerBatch, compact: Bool, into buffer: inout ByteBuffer) throws {
        let prefixIndex = buffer.writerIndex
        let reserved = compact ? 5 : 4
        buffer.writeRepeatingByte(0, count: reserved)
        let start = buffer.writerIndex
        try batch.builder.build(into: &buffer)
        let length = buffer.writerIndex - start
        guard compact else {
            buffer.setInteger(Int32(length), at: prefixIndex, endianness: .big)
            return
        }
        var value = UInt32(length + 1)
        var index = prefixIndex
        while value >= 0x80 {
            buffer.setInteger(UInt8(truncatingIfNeeded: value) | 0x80, at: index)
            value >>= 7
            index += 1
        }
        buffer.setInteger(UInt8(value), at: index)
        index += 1
        if index < start {
            _ = try buffer.copyBytes(at: start, to: index, length: length)
            buffer.moveWriterIndex(to: index + length)
        }
    }
}

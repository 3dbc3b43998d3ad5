import KafkaProtocol
import NIOCore

/// The `userData` the eager `sticky` assignor exchanges, in the layout the Java client and
/// librdkafka use, so that mixed groups agree:
///
/// ```
/// version 0: previous_assignment => [topic => STRING, partitions => [INT32]]
/// version 1: version 0, then generation => INT32
/// ```
///
/// The layout has no version field: a reader tells them apart by whether bytes follow the array.
struct StickyAssignorUserData: Sendable, Hashable {
    var previousAssignment: [TopicPartition]
    /// -1 for version 0 data.
    var generationId: Int32

    func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        var byTopic: [String: [Int32]] = [:]
        for partition in previousAssignment { byTopic[partition.topic, default: []].append(partition.partition) }
        buffer.writeInteger(Int32(byTopic.count))
        for topic in byTopic.keys.sorted() {
            let name = Array(topic.utf8)
            buffer.writeInteger(Int16(name.count))
            buffer.writeBytes(name)
            let partitions = byTopic[topic]!.sorted()
            buffer.writeInteger(Int32(partitions.count))
            for partition in partitions { buffer.writeInteger(partition) }
        }
        buffer.writeInteger(generationId)
        return buffer
    }

    /// Parses version 1 or 0 data; nil when the bytes are neither.
    init?(decoding data: ByteBuffer) {
        var buffer = data
        guard let topicCount = buffer.readInteger(as: Int32.self), topicCount >= 0,
              Int(topicCount) <= buffer.readableBytes / 6 else { return nil }
        var partitions: [TopicPartition] = []
        for _ in 0..<topicCount {
            guard let length = buffer.readInteger(as: Int16.self), length >= 0,
                  let topic = buffer.readString(length: Int(length)),
                  let count = buffer.readInteger(as: Int32.self), count >= 0,
                  Int(count) <= buffer.readableBytes / 4 else { return nil }
            for _ in 0..<count { partitions.append(TopicPartition(topic, buffer.readInteger(as: Int32.self)!)) }
        }
        if buffer.readableBytes == 0 {
            self.init(previousAssignment: partitions, generationId: -1)
        } else if buffer.readableBytes == 4 {
            self.init(previousAssignment: partitions, generationId: buffer.readInteger(as: Int32.self)!)
        } else {
            return nil
        }
    }

    init(previousAssignment: [TopicPartition], generationId: Int32) {
        self.previousAssignment = previousAssignment
        self.generationId = generationId
    }
}

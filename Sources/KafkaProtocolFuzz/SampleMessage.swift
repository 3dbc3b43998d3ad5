import KafkaProtocol
import NIOCore

/// A small hand-written message with the shapes generated messages have (fixed ints,
/// nullable strings, arrays, compact encodings and tagged fields from its flexible
/// version), so that `--sample-messages` can exercise the message fuzzing path before
/// the generated registry exists. Not part of the library.
struct SampleMessage: KafkaMessage {
    static let messageName = "FuzzSampleMessage"
    static let validVersions: ClosedRange<Int16> = 0...2
    static let firstFlexibleVersion: Int16? = 2

    var id: Int32 = 0
    var name: String?
    var items: [Int16] = []
    var unknownTaggedFields: [KafkaTaggedField] = []

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        guard Self.validVersions.contains(version) else {
            throw KafkaProtocolError.unsupportedVersion(message: Self.messageName, version: version)
        }
        let compact = Self.isFlexible(version)
        buffer.writeInteger(self.id, endianness: .big)
        try buffer.writeKafkaString(self.name, compact: compact)
        if version >= 1 {
            buffer.writeKafkaArrayCount(self.items.count, compact: compact)
            for item in self.items { buffer.writeInteger(item, endianness: .big) }
        } else if !self.items.isEmpty {
            throw KafkaProtocolError.fieldNotSupported(message: Self.messageName, field: "items", version: version)
        }
        if compact {
            buffer.writeUnsignedVarint(UInt32(self.unknownTaggedFields.count))
            for field in self.unknownTaggedFields { buffer.writeKafkaTaggedField(tag: field.tag, data: field.data) }
        }
    }

    static func decode(from buffer: inout ByteBuffer, version: Int16) throws -> SampleMessage {
        guard validVersions.contains(version) else { throw KafkaProtocolError.unsupportedVersion(message: messageName, version: version) }
        let compact = isFlexible(version)
        var message = SampleMessage()
        message.id = try buffer.readKafkaInteger(context: "id")
        message.name = try buffer.readKafkaNullableString(compact: compact, context: "name")
        if version >= 1 {
            let count = try buffer.readKafkaArrayCount(compact: compact, context: "items") ?? 0
            for _ in 0..<count { message.items.append(try buffer.readKafkaInteger(context: "items[]")) }
        }
        if compact {
            let count = try buffer.readUnsignedVarint(context: "tagged fields")
            guard Int(count) <= buffer.readableBytes else { throw KafkaProtocolError.invalidCount(context: "tagged fields", count: Int(count)) }
            for _ in 0..<count {
                let (tag, data) = try buffer.readKafkaTaggedField(context: "tagged field")
                message.unknownTaggedFields.append(KafkaTaggedField(tag: tag, data: data))
            }
        }
        return message
    }
}

import Foundation
import NIOCore
import Testing
@testable import KafkaProtocol

/// Byte vectors worked out by hand from the protocol rules (see the comments), not
/// captured from this code's own output.
@Suite struct MessageVectorTests {
    @Test func apiVersionsRequestV3CarriesClientSoftware() throws {
        let request = ApiVersionsRequest(clientSoftwareName: "rivulet", clientSoftwareVersion: "0.1.0")
        let expected = hex(
            "08 72 69 76 75 6c 65 74" // compact string: length 7 + 1, "rivulet"
            + "06 30 2e 31 2e 30"     // compact string: length 5 + 1, "0.1.0"
            + "00"                    // no tagged fields
        )
        #expect(try encoded(request, version: 3) == expected)
        #expect(try decoded(ApiVersionsRequest.self, expected, version: 3) == request)
        // Versions 0-2 have no fields; the ignorable software name is dropped.
        #expect(try encoded(request, version: 2) == [])
    }

    @Test func requestHeaderV2KeepsClassicClientIdAndUnknownTag() throws {
        let header = RequestHeader(
            requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: "cli",
            unknownTaggedFields: [KafkaTaggedField(tag: 5, data: ByteBuffer(bytes: [0xAB, 0xCD]))]
        )
        let expected = hex(
            "00 12"           // api key 18
            + "00 03"         // api version 3
            + "00 00 00 07"   // correlation id 7
            + "00 03 63 6c 69" // client id: classic int16 length even in a flexible version
            + "01 05 02 ab cd" // one tagged field: tag 5, two bytes
        )
        #expect(try encoded(header, version: 2) == expected)
        #expect(try decoded(RequestHeader.self, expected, version: 2) == header)
    }

    @Test func requestHeaderOlderVersions() throws {
        let header = RequestHeader(requestApiKey: 7, requestApiVersion: 0, correlationId: -1, clientId: nil)
        #expect(try encoded(header, version: 0) == hex("00 07 00 00 ff ff ff ff"))
        #expect(try encoded(header, version: 1) == hex("00 07 00 00 ff ff ff ff ff ff")) // null client id: length -1
    }

    @Test func metadataRequestV0AndV1() throws {
        let request = MetadataRequest(topics: [.init(name: "a"), .init(name: "bc")])
        let expected = hex("00 00 00 02" + "00 01 61" + "00 02 62 63")
        #expect(try encoded(request, version: 0) == expected)
        #expect(try decoded(MetadataRequest.self, expected, version: 0) == request)
        // From version 1 a null array means "all topics".
        #expect(try encoded(MetadataRequest(topics: nil), version: 1) == hex("ff ff ff ff"))
        #expect(try decoded(MetadataRequest.self, hex("ff ff ff ff"), version: 1).topics == nil)
    }

    @Test func metadataResponseV0() throws {
        let response = MetadataResponse(
            brokers: [.init(nodeId: 1, host: "h", port: 9092)],
            topics: [.init(errorCode: 0, name: "t", partitions: [
                .init(errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1]),
            ])]
        )
        let expected = hex(
            "00 00 00 01"              // one broker
            + "00 00 00 01"            //   node id 1
            + "00 01 68"               //   host "h"
            + "00 00 23 84"            //   port 9092
            + "00 00 00 01"            // one topic
            + "00 00"                  //   error code
            + "00 01 74"               //   name "t"
            + "00 00 00 01"            //   one partition
            + "00 00"                  //     error code
            + "00 00 00 00"            //     partition index 0
            + "00 00 00 01"            //     leader 1
            + "00 00 00 01 00 00 00 01" //    replicas [1]
            + "00 00 00 01 00 00 00 01" //    isr [1]
        )
        #expect(try encoded(response, version: 0) == expected)
        #expect(try decoded(MetadataResponse.self, expected, version: 0) == response)
    }

    @Test func apiVersionsResponseV3WritesOnlyNonDefaultTaggedFields() throws {
        let response = ApiVersionsResponse(apiKeys: [.init(apiKey: 18, minVersion: 0, maxVersion: 4)], finalizedFeaturesEpoch: 5)
        let expected = hex(
            "00 00"                        // error code
            + "02 00 12 00 00 00 04 00"    // compact array of 1: key 18, 0...4, no tags
            + "00 00 00 00"                // throttle time
            + "01 01 08 00 00 00 00 00 00 00 05" // one tagged field: tag 1 (epoch), 8 bytes; the rest are defaults
        )
        #expect(try encoded(response, version: 3) == expected)
        #expect(try decoded(ApiVersionsResponse.self, expected, version: 3) == response)
    }

    @Test func nullableStructUsesPresenceByte() throws {
        var request = DescribeTopicPartitionsRequest(topics: [.init(name: "t")], responsePartitionLimit: 2000, cursor: nil)
        let prefix = "02 02 74 00" + "00 00 07 d0" // compact array of 1 topic ("t", no tags), limit 2000
        #expect(try encoded(request, version: 0) == hex(prefix + "ff" + "00"))
        request.cursor = .init(topicName: "t", partitionIndex: 3)
        let withCursor = hex(prefix + "01" + "02 74 00 00 00 03 00" + "00")
        #expect(try encoded(request, version: 0) == withCursor)
        #expect(try decoded(DescribeTopicPartitionsRequest.self, withCursor, version: 0) == request)
    }

    @Test func knownAndUnknownTaggedFieldsAreWrittenInTagOrder() throws {
        let response = ApiVersionsResponse(
            finalizedFeaturesEpoch: 5,
            unknownTaggedFields: [
                KafkaTaggedField(tag: 9, data: ByteBuffer(bytes: [0xAA])),
                KafkaTaggedField(tag: 4, data: ByteBuffer(bytes: [0xBB])),
            ]
        )
        let expected = hex(
            "00 00" + "01" + "00 00 00 00" // error code, no api keys, throttle time
            + "03"                         // three tagged fields
            + "01 08 00 00 00 00 00 00 00 05"
            + "04 01 bb"
            + "09 01 aa"
        )
        #expect(try encoded(response, version: 3) == expected)
        // Decoding keeps unknown fields in wire order.
        var sorted = response
        sorted.unknownTaggedFields.sort { $0.tag < $1.tag }
        #expect(try decoded(ApiVersionsResponse.self, expected, version: 3) == sorted)
    }

    @Test func defaultsFollowTheSchemas() {
        let fetch = FetchRequest()
        #expect(fetch.replicaId == -1)
        #expect(fetch.maxBytes == Int32.max) // "0x7fffffff"
        #expect(fetch.sessionEpoch == -1)
        #expect(fetch.clusterId == nil)      // nullable with default "null"
        #expect(fetch.replicaState == FetchRequest.ReplicaState(replicaId: -1, replicaEpoch: -1))
        #expect(FetchRequest.FetchTopic().topicId == UUID.kafkaZero)
        #expect(MetadataRequest().allowAutoTopicCreation == true)
        #expect(MetadataRequest().topics == [])  // nullable, but no "null" default
        #expect(ProduceRequest().transactionalId == nil)
        #expect(ApiVersionsResponse().finalizedFeaturesEpoch == -1)
        #expect(ListOffsetsRequest.ListOffsetsPartition().maxNumOffsets == 1)
        #expect(ConsumerProtocolSubscription().userData == nil)
    }
}

func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func encoded<Message: KafkaMessage>(_ message: Message, version: Int16) throws -> [UInt8] {
    var buffer = ByteBuffer()
    try message.encode(into: &buffer, version: version)
    return Array(buffer.readableBytesView)
}

func decoded<Message: KafkaMessage>(_ type: Message.Type, _ bytes: [UInt8], version: Int16) throws -> Message {
    var buffer = ByteBuffer(bytes: bytes)
    let message = try Message.decode(from: &buffer, version: version)
    #expect(buffer.readableBytes == 0, "decoder left \(buffer.readableBytes) bytes")
    return message
}

/// The example in docs/protocol.md, kept compiling and checked.
@Suite struct ProtocolDocumentationExampleTests {
    @Test func framingARequestAndReadingItBack() throws {
        let request = MetadataRequest(topics: [.init(name: "orders")], allowAutoTopicCreation: false)
        let version: Int16 = 12
        let header = RequestHeader(
            requestApiKey: MetadataRequest.apiKey.rawValue,
            requestApiVersion: version,
            correlationId: 42,
            clientId: "rivulet"
        )
        var frame = ByteBuffer()
        frame.writeInteger(Int32(0)) // size, filled in below
        try header.encode(into: &frame, version: MetadataRequest.requestHeaderVersion(for: version))
        try request.encode(into: &frame, version: version)
        frame.setInteger(Int32(frame.readableBytes - 4), at: frame.readerIndex)

        // A broker reads it back the same way.
        let size = try frame.readKafkaInteger(Int32.self, context: "size")
        #expect(Int(size) == frame.readableBytes)
        let readHeader = try RequestHeader.decode(from: &frame, version: 2)
        #expect(readHeader == header)
        let requestType = try #require(KafkaMessageRegistry.requestType(for: KafkaApiKey(rawValue: readHeader.requestApiKey)))
        let body = try requestType.decode(from: &frame, version: readHeader.requestApiVersion)
        #expect(body as? MetadataRequest == request)
        #expect(frame.readableBytes == 0)
    }
}

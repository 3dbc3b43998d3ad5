import Foundation
import NIOCore
import Testing
@testable import KafkaProtocol

@Suite struct MessageBehaviourTests {
    // MARK: Tagged fields

    @Test func unknownTaggedFieldsSurviveDecodeAndEncode() throws {
        // FetchRequest v12: tag 0 (ClusterId) is known; tag 1 (ReplicaState) only exists from
        // v15, so at v12 it is unknown, as is tag 7. The nested FetchTopic carries one too.
        let bytes = hex(
            "00 00 00 00" + "00 00 00 00" + "00 00 00 00" + "00 00 00 00" // replica, max wait, min bytes, max bytes
            + "00" + "00 00 00 00" + "ff ff ff ff"                       // isolation, session id, epoch
            + "02"                                                       // one topic
            + "02 74" + "01" + "01 03 01 99"                             //   "t", no partitions, tag 3 = 99
            + "01" + "01"                                                // no forgotten topics, empty rack id
            + "03" + "00 02 02 63" + "01 02 aa bb" + "07 00"              // ClusterId "c", tag 1, tag 7
        )
        let request = try decoded(FetchRequest.self, bytes, version: 12)
        #expect(request.clusterId == "c")
        #expect(request.replicaState == FetchRequest.ReplicaState())
        #expect(request.unknownTaggedFields == [
            KafkaTaggedField(tag: 1, data: ByteBuffer(bytes: [0xAA, 0xBB])),
            KafkaTaggedField(tag: 7, data: ByteBuffer()),
        ])
        #expect(request.topics.first?.unknownTaggedFields == [KafkaTaggedField(tag: 3, data: ByteBuffer(bytes: [0x99]))])
        #expect(try encoded(request, version: 12) == bytes)
    }

    @Test func taggedFieldsAreReadByTagAtTheirVersions() throws {
        // At v15 tag 1 is ReplicaState (ReplicaId int32, ReplicaEpoch int64, no tags: 13 bytes).
        var request = FetchRequest(replicaState: .init(replicaId: 3, replicaEpoch: 9))
        let bytes = try encoded(request, version: 15)
        #expect(try decoded(FetchRequest.self, bytes, version: 15) == request)
        request.replicaState = .init()
        #expect(try encoded(request, version: 15).count == bytes.count - 15) // tag, size and 13 bytes gone
    }

    @Test func knownTaggedFieldMustFillItsSlice() {
        // ApiVersionsResponse v3, tag 1 (an int64) announced as 9 bytes.
        let bytes = hex("00 00" + "01" + "00 00 00 00" + "01 01 09 00 00 00 00 00 00 00 05 00")
        #expect(throws: KafkaProtocolError.invalidLength(context: "ApiVersionsResponse tagged field", length: 1)) {
            try decoded(ApiVersionsResponse.self, bytes, version: 3)
        }
    }

    @Test func unknownTaggedFieldsCannotBeWrittenInClassicVersions() {
        let request = ApiVersionsRequest(unknownTaggedFields: [KafkaTaggedField(tag: 1, data: ByteBuffer())])
        #expect(throws: KafkaProtocolError.fieldNotSupported(message: "ApiVersionsRequest", field: "unknownTaggedFields", version: 2)) {
            try encoded(request, version: 2)
        }
    }

    // MARK: Fields and versions

    @Test func nonDefaultFieldMissingFromVersionIsRefused() throws {
        let request = ProduceRequest(transactionalId: "txn")
        #expect(throws: KafkaProtocolError.fieldNotSupported(message: "ProduceRequest", field: "TransactionalId", version: 2)) {
            try encoded(request, version: 2)
        }
        _ = try encoded(request, version: 3)
        // Fields that stopped existing are refused too, and nested ones name their struct.
        #expect(throws: KafkaProtocolError.fieldNotSupported(message: "FetchRequest", field: "ReplicaId", version: 15)) {
            try encoded(FetchRequest(replicaId: 1), version: 15)
        }
        let listOffsets = ListOffsetsRequest(topics: [.init(name: "t", partitions: [.init(maxNumOffsets: 5)])])
        #expect(throws: KafkaProtocolError.fieldNotSupported(message: "ListOffsetsRequest", field: "ListOffsetsPartition.MaxNumOffsets", version: 1)) {
            try encoded(listOffsets, version: 1)
        }
    }

    @Test func ignorableFieldMissingFromVersionIsDropped() throws {
        let response = ApiVersionsResponse(errorCode: 35, throttleTimeMs: 100)
        #expect(try encoded(response, version: 0) == hex("00 23 00 00 00 00"))
    }

    @Test func nullOnlyWhereTheVersionAllowsIt() throws {
        #expect(throws: KafkaProtocolError.unexpectedNull(context: "MetadataRequest.Topics")) {
            try encoded(MetadataRequest(topics: nil), version: 0)
        }
        #expect(throws: KafkaProtocolError.unexpectedNull(context: "MetadataRequest.Topics")) {
            try decoded(MetadataRequest.self, hex("ff ff ff ff"), version: 0)
        }
        #expect(throws: KafkaProtocolError.unexpectedNull(context: "SaslHandshakeRequest.Mechanism")) {
            try decoded(SaslHandshakeRequest.self, hex("ff ff"), version: 1)
        }
        let topicWithoutName = MetadataResponse(topics: [.init(name: nil)])
        #expect(throws: KafkaProtocolError.unexpectedNull(context: "MetadataResponse.MetadataResponseTopic.Name")) {
            try encoded(topicWithoutName, version: 11)
        }
        _ = try encoded(topicWithoutName, version: 12)
    }

    @Test func unsupportedVersionsAreRefused() {
        #expect(throws: KafkaProtocolError.unsupportedVersion(message: "ApiVersionsRequest", version: 5)) {
            try encoded(ApiVersionsRequest(), version: 5)
        }
        #expect(throws: KafkaProtocolError.unsupportedVersion(message: "RequestHeader", version: -1)) {
            try decoded(RequestHeader.self, [], version: -1)
        }
    }

    // MARK: Malformed input

    @Test func everyPrefixOfAMessageIsATypedError() throws {
        let messages: [(any KafkaMessage, Int16)] = [
            (ApiVersionsRequest(clientSoftwareName: "rivulet", clientSoftwareVersion: "1"), 3),
            (ApiVersionsResponse(apiKeys: [.init(apiKey: 0, minVersion: 0, maxVersion: 11)], finalizedFeaturesEpoch: 1, zkMigrationReady: true), 3),
            (RequestHeader(requestApiKey: 1, requestApiVersion: 12, correlationId: 3, clientId: "c",
                           unknownTaggedFields: [KafkaTaggedField(tag: 9, data: ByteBuffer(bytes: [1, 2, 3]))]), 2),
            (FetchRequest(clusterId: "c", replicaState: .init(replicaId: 1, replicaEpoch: 2),
                          topics: [.init(topicId: UUID(), partitions: [.init(partition: 1, fetchOffset: 99)])]), 15),
            (ProduceRequest(transactionalId: "t", acks: -1, topicData: [.init(name: "x", partitionData: [.init(index: 0, records: ByteBuffer(bytes: [1, 2, 3]))])]), 9),
            (ProduceRequest(transactionalId: "t", acks: -1, topicData: [.init(name: "x", partitionData: [.init(index: 0, records: ByteBuffer(bytes: [1, 2, 3]))])]), 3),
            (DescribeTopicPartitionsRequest(topics: [.init(name: "t")], cursor: .init(topicName: "t", partitionIndex: 1)), 0),
            (MetadataResponse(brokers: [.init(nodeId: 1, host: "h", port: 1, rack: "r")], topics: [.init(name: "t", partitions: [.init(replicaNodes: [1, 2])])]), 12),
        ]
        for (message, version) in messages {
            try expectEveryPrefixFails(message, version: version)
        }
    }

    @Test func everyMessageAtEveryVersionRejectsTruncation() throws {
        for type in KafkaMessageRegistry.allMessageTypes {
            for version in type.validVersions {
                try expectEveryPrefixFails(type.init(), version: version)
            }
        }
    }

    @Test func hostileCountsAllocateNothing() {
        // ProduceRequest v3: null transactional id, acks, timeout, then a topic count of 2^31-1.
        let bytes = hex("ff ff" + "00 01" + "00 00 00 10" + "7f ff ff ff")
        #expect(throws: KafkaProtocolError.invalidCount(context: "ProduceRequest.TopicData", count: Int(Int32.max))) {
            try decoded(ProduceRequest.self, bytes, version: 3)
        }
    }

    // MARK: Registry

    @Test func registryHasOneTypePerSchema() throws {
        let types = KafkaMessageRegistry.allMessageTypes
        // Kafka's message directory at the pinned commit holds 186 schema files.
        #expect(types.count == 186)
        let schemas = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/kafka-protocol/messages").standardizedFileURL
        if let files = try? FileManager.default.contentsOfDirectory(atPath: schemas.path) {
            let names = Set(files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
            #expect(Set(types.map { $0.messageName }) == names)
        }
        #expect(Set(types.map { $0.messageName }).count == types.count)
        for key in KafkaApiKey.allKnown {
            let request = try #require(KafkaMessageRegistry.requestType(for: key))
            let response = try #require(KafkaMessageRegistry.responseType(for: key))
            #expect(request.apiKey == key && response.apiKey == key)
            #expect(request.messageName == key.name! + "Request")
            #expect(response.messageName == key.name! + "Response")
        }
        #expect(KafkaApiKey.produce.rawValue == 0 && KafkaApiKey.apiVersions.rawValue == 18)
        #expect(KafkaApiKey.controlledShutdown.rawValue == 7)
        #expect(KafkaApiKey(rawValue: 999).name == nil)
        #expect(KafkaMessageRegistry.requestType(for: KafkaApiKey(rawValue: 999)) == nil)
        #expect(ApiVersionsRequest.responseHeaderVersion(for: 3) == 0)
        #expect(ProduceRequest.requestHeaderVersion(for: 9) == 2)
    }
}

func expectEveryPrefixFails(_ message: any KafkaMessage, version: Int16) throws {
    var full = ByteBuffer()
    try message.encode(into: &full, version: version)
    let type = Swift.type(of: message)
    for length in 0..<full.readableBytes {
        var prefix = full.getSlice(at: full.readerIndex, length: length)!
        do {
            _ = try type.decode(from: &prefix, version: version)
            Issue.record("\(type.messageName) v\(version): a \(length)-byte prefix of \(full.readableBytes) decoded")
        } catch is KafkaProtocolError {
            // expected
        } catch {
            Issue.record("\(type.messageName) v\(version): untyped error \(error)")
        }
    }
}

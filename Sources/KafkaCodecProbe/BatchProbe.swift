import Foundation
import KafkaProtocol
import NIOCore

/// `KafkaCodecProbe batch`: record batches, compression and CRC-32C for the Python
/// interop tests, as JSON lines: one request object per stdin line, one response
/// object per stdout line, so that a test module starts the process once.
///
/// Bytes travel as lowercase hex. Requests (`op`):
/// - `decode` {hex, verify?, allowTail?} → {entries: [...], incompleteTailBytes}
/// - `encode` {compression, baseOffset?, producerId?, producerEpoch?, baseSequence?, transactional?,
///   partitionLeaderEpoch?, timestampType? ("create"|"logAppend"), logAppendTime?, records: [{timestamp, key, value, headers: [[k, v]], offsetDelta?}]} → {hex}
/// - `control` {commit, coordinatorEpoch, producerId, producerEpoch, baseOffset?, timestamp} → {hex}
/// - `compress` / `decompress` {codec, hex, legacyLZ4?} → {hex}
/// - `crc32c` {hex, implementation? ("automatic"|"hardware"|"software")} → {value}
/// - `header` {hex} → the fixed header's fields, without decoding records
/// Every response has `ok`; failures carry `error` (the description) and `kind` (the error case).
enum BatchProbe {
    static func run(_ arguments: [String]) throws {
        while let line = readLine(strippingNewline: true) {
            if line.isEmpty { continue }
            let response: [String: Any]
            do {
                guard let request = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw ProbeError.badRequest("request is not an object")
                }
                response = try handle(request).merging(["ok": true]) { a, _ in a }
            } catch let error as KafkaProtocolError {
                response = ["ok": false, "error": error.description, "kind": caseName(of: error)]
            } catch {
                response = ["ok": false, "error": "\(error)", "kind": "probe"]
            }
            let data = try JSONSerialization.data(withJSONObject: response, options: [.sortedKeys])
            FileHandle.standardOutput.write(data)
            FileHandle.standardOutput.write(Data("\n".utf8))
        }
    }

    enum ProbeError: Error, CustomStringConvertible {
        case badRequest(String)
        var description: String {
            switch self {
            case let .badRequest(reason): return "bad request: \(reason)"
            }
        }
    }

    static func caseName(of error: KafkaProtocolError) -> String {
        Mirror(reflecting: error).children.first?.label ?? "\(error)"
    }

    static func handle(_ request: [String: Any]) throws -> [String: Any] {
        switch request["op"] as? String {
        case "decode": return try decode(request)
        case "encode": return try encode(request)
        case "control": return try control(request)
        case "compress": return try compress(request)
        case "decompress": return try decompress(request)
        case "crc32c": return try crc32c(request)
        case "header": return try header(request)
        default: throw ProbeError.badRequest("unknown op \(request["op"] ?? "nil")")
        }
    }

    // MARK: Operations

    static func decode(_ request: [String: Any]) throws -> [String: Any] {
        let options = RecordDecodingOptions(verifyChecksums: request["verify"] as? Bool ?? true,
                                            allowsIncompleteTail: request["allowTail"] as? Bool ?? true)
        var reader = RecordSetReader(try bytes(request, "hex"), options: options)
        var entries: [[String: Any]] = []
        while let entry = try reader.next() {
            var description: [String: Any] = [
                "magic": Int(entry.magic), "baseOffset": entry.baseOffset, "lastOffset": entry.lastOffset,
                "size": entry.totalSize, "records": try entry.records().map(describe),
            ]
            switch entry {
            case let .batch(batch):
                let header = batch.header
                description.merge([
                    "partitionLeaderEpoch": Int(header.partitionLeaderEpoch), "crc": Int(header.crc),
                    "compression": header.attributes.compression?.description ?? "unknown",
                    "timestampType": header.timestampType == .logAppendTime ? "logAppend" : "create",
                    "isTransactional": header.isTransactional, "isControl": header.isControl,
                    "lastOffsetDelta": Int(header.lastOffsetDelta), "baseTimestamp": header.baseTimestamp,
                    "maxTimestamp": header.maxTimestamp, "producerId": header.producerId,
                    "producerEpoch": Int(header.producerEpoch), "baseSequence": Int(header.baseSequence),
                    "recordCount": Int(header.recordCount),
                ]) { a, _ in a }
                if header.isControl {
                    description["controlRecords"] = try batch.records().map { record -> [String: Any] in
                        let control = try ControlRecord(record)
                        return ["kind": describe(control.kind), "keyVersion": Int(control.keyVersion),
                                "coordinatorEpoch": control.coordinatorEpoch.map { Int($0) } ?? NSNull()]
                    }
                }
            case let .legacy(legacy):
                description.merge([
                    "compression": legacy.compression.description, "crc": Int(legacy.crc), "timestamp": legacy.timestamp,
                    "timestampType": legacy.timestampType == .logAppendTime ? "logAppend" : "create",
                ]) { a, _ in a }
            }
            entries.append(description)
        }
        return ["entries": entries, "incompleteTailBytes": reader.incompleteTailBytes]
    }

    static func encode(_ request: [String: Any]) throws -> [String: Any] {
        var builder = RecordBatchBuilder(
            baseOffset: int64(request["baseOffset"]) ?? 0,
            compression: try codec(request["compression"] as? String ?? "none"),
            producerId: int64(request["producerId"]) ?? -1,
            producerEpoch: Int16(int64(request["producerEpoch"]) ?? -1),
            baseSequence: Int32(int64(request["baseSequence"]) ?? -1),
            isTransactional: request["transactional"] as? Bool ?? false,
            partitionLeaderEpoch: Int32(int64(request["partitionLeaderEpoch"]) ?? -1),
            timestampType: request["timestampType"] as? String == "logAppend" ? .logAppendTime : .createTime,
            logAppendTime: int64(request["logAppendTime"]))
        for case let record as [String: Any] in request["records"] as? [Any] ?? [] {
            let headers = try (record["headers"] as? [[Any]] ?? []).map { pair -> RecordHeader in
                guard pair.count == 2, let key = pair[0] as? String else { throw ProbeError.badRequest("header is not [key, hex]") }
                return RecordHeader(key: key, value: try optionalBytes(pair[1]))
            }
            let timestamp = int64(record["timestamp"]) ?? 0
            let key = try optionalBytes(record["key"])
            let value = try optionalBytes(record["value"])
            if let delta = int64(record["offsetDelta"]) {
                try builder.append(offsetDelta: Int32(delta), timestamp: timestamp, key: key, value: value, headers: headers)
            } else {
                try builder.append(timestamp: timestamp, key: key, value: value, headers: headers)
            }
        }
        return ["hex": hex(try builder.build())]
    }

    static func control(_ request: [String: Any]) throws -> [String: Any] {
        let marker = ControlRecord.endTransaction(commit: request["commit"] as? Bool ?? true,
                                                  coordinatorEpoch: Int32(int64(request["coordinatorEpoch"]) ?? 0))
        let batch = try RecordBatchBuilder.endTransactionMarker(
            marker, baseOffset: int64(request["baseOffset"]) ?? 0, timestamp: int64(request["timestamp"]) ?? 0,
            producerId: int64(request["producerId"]) ?? 0, producerEpoch: Int16(int64(request["producerEpoch"]) ?? 0))
        return ["hex": hex(batch)]
    }

    static func compress(_ request: [String: Any]) throws -> [String: Any] {
        var output = ByteBuffer()
        try codec(request["codec"] as? String ?? "none").compress(try bytes(request, "hex"), appendingTo: &output)
        return ["hex": hex(output)]
    }

    static func decompress(_ request: [String: Any]) throws -> [String: Any] {
        let output = try codec(request["codec"] as? String ?? "none").decompress(
            try bytes(request, "hex"), maxOutputBytes: Int(int64(request["maxOutputBytes"]) ?? Int64(CompressionCodec.defaultMaxDecompressedBytes)),
            legacyLZ4HeaderChecksum: request["legacyLZ4"] as? Bool ?? false)
        return ["hex": hex(output)]
    }

    static func crc32c(_ request: [String: Any]) throws -> [String: Any] {
        let implementation: CRC32C.Implementation
        switch request["implementation"] as? String ?? "automatic" {
        case "hardware": implementation = .hardware
        case "software": implementation = .software
        default: implementation = .automatic
        }
        let data = try bytes(request, "hex")
        let value = data.withUnsafeReadableBytes { CRC32C.checksum($0, implementation: implementation) }
        return ["value": Int(value), "hardwareAvailable": CRC32C.hardwareAvailable]
    }

    static func header(_ request: [String: Any]) throws -> [String: Any] {
        let buffer = try bytes(request, "hex")
        let header = try RecordBatchHeader(from: buffer, at: buffer.readerIndex)
        return ["baseOffset": header.baseOffset, "batchLength": Int(header.batchLength), "crc": Int(header.crc),
                "attributes": Int(header.attributes.rawValue), "producerId": header.producerId,
                "producerEpoch": Int(header.producerEpoch), "baseSequence": Int(header.baseSequence),
                "recordCount": Int(header.recordCount), "isTransactional": header.isTransactional,
                "isControl": header.isControl, "computedCrc": Int(try RecordBatchHeader.computeCRC(in: buffer, at: buffer.readerIndex))]
    }

    // MARK: Conversions

    static func describe(_ record: Record) -> [String: Any] {
        [
            "offset": record.offset, "offsetDelta": Int(record.offsetDelta), "timestamp": record.timestamp,
            "key": record.key.map(hex) ?? NSNull(), "value": record.value.map(hex) ?? NSNull(),
            "headers": record.headers.map { [$0.key, $0.value.map(hex) ?? NSNull()] as [Any] },
        ]
    }

    static func describe(_ kind: ControlRecord.Kind) -> String {
        switch kind {
        case .abort: return "abort"
        case .commit: return "commit"
        case let .other(value): return "other(\(value))"
        }
    }

    static func codec(_ name: String) throws -> CompressionCodec {
        guard let codec = CompressionCodec.allCases.first(where: { $0.description == name }) else {
            throw ProbeError.badRequest("unknown codec \(name)")
        }
        return codec
    }

    static func int64(_ value: Any?) -> Int64? {
        (value as? NSNumber)?.int64Value
    }

    static func bytes(_ request: [String: Any], _ field: String) throws -> ByteBuffer {
        guard let text = request[field] as? String else { throw ProbeError.badRequest("missing \(field)") }
        return try unhex(text)
    }

    static func optionalBytes(_ value: Any?) throws -> ByteBuffer? {
        guard let text = value as? String else { return nil }
        return try unhex(text)
    }

    static func hex(_ buffer: ByteBuffer) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(buffer.readableBytes * 2)
        buffer.withUnsafeReadableBytes { raw in
            for byte in raw {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func unhex(_ text: String) throws -> ByteBuffer {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { throw ProbeError.badRequest("odd hex length") }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw ProbeError.badRequest("bad hex digit")
            }
        }
        var buffer = ByteBufferAllocator().buffer(capacity: utf8.count / 2)
        var index = 0
        while index < utf8.count {
            buffer.writeInteger(try nibble(utf8[index]) << 4 | nibble(utf8[index + 1]))
            index += 2
        }
        return buffer
    }
}

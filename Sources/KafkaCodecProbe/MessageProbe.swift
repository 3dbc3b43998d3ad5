import Foundation
import KafkaProtocol
import NIOCore

/// `KafkaCodecProbe message`: protocol messages as JSON, for cross-checking against other implementations.
///
/// With no further arguments it serves JSON lines: one request per stdin line, one
/// answer per stdout line, so a test suite can keep a single process running.
///
///     {"op": "decode", "message": "ProduceRequest", "version": 9, "hex": "..."}
///         → {"ok": true, "value": {...}, "remaining": 0}
///     {"op": "encode", "message": "ProduceRequest", "version": 9, "value": {...}}
///         → {"ok": true, "hex": "..."}
///     {"op": "reencode", "message": ..., "version": ..., "hex": ...}  decode then encode again
///     {"op": "schema", "message": ..., "version": ...}  the fields present at that version
///     {"op": "list"}  every message with its versions
///
/// Values use the schema's field names; bytes and records are hex, UUIDs strings, and
/// unknown tagged fields appear as "_unknownTaggedFields": [{"tag": n, "hex": ...}].
/// Failures answer {"ok": false, "kind": "<KafkaProtocolError case or probe>", "error": "..."}.
///
/// One-shot forms: `message decode <Message> <version> <hex>`, `message encode <Message> <version> <json>`,
/// `message schema <Message> <version>`, `message list`.
enum MessageProbe {
    static func run(_ args: [String]) throws {
        switch args.first {
        case nil, "serve":
            serve()
        case "decode" where args.count == 4:
            answer(.object([("op", .string("decode")), ("message", .string(args[1])), ("version", .integer(Int64(args[2]) ?? -1)), ("hex", .string(args[3]))]))
        case "encode" where args.count == 4:
            answer(.object([("op", .string("encode")), ("message", .string(args[1])), ("version", .integer(Int64(args[2]) ?? -1)), ("value", try ProbeJSON.parse(args[3]))]))
        case "schema" where args.count == 3:
            answer(.object([("op", .string("schema")), ("message", .string(args[1])), ("version", .integer(Int64(args[2]) ?? -1))]))
        case "list":
            answer(.object([("op", .string("list"))]))
        default:
            throw ProbeError.badRequest("usage: KafkaCodecProbe message [serve | decode M V HEX | encode M V JSON | schema M V | list]")
        }
    }

    private static func serve() {
        while let line = readLine(strippingNewline: true) {
            if line.isEmpty { continue }
            let response: ProbeJSON
            do {
                response = handle(try ProbeJSON.parse(line))
            } catch {
                response = failure(error)
            }
            emit(response)
        }
    }

    private static func answer(_ request: ProbeJSON) {
        emit(handle(request))
    }

    private static func emit(_ response: ProbeJSON) {
        FileHandle.standardOutput.write(Data((response.serialized + "\n").utf8))
    }

    static func handle(_ request: ProbeJSON) -> ProbeJSON {
        do {
            guard case let .string(op)? = request["op"] else { throw ProbeError.badRequest("missing op") }
            switch op {
            case "list":
                return .object([("ok", .bool(true)), ("messages", .array(list()))])
            case "decode":
                let (type, version) = try target(of: request)
                var buffer = try bytes(request["hex"])
                let value = try type.decode(from: &buffer, version: version)
                return .object([("ok", .bool(true)), ("value", value.probeJSON(version: version)), ("remaining", .integer(Int64(buffer.readableBytes)))])
            case "encode":
                let (type, version) = try target(of: request)
                let value = try type.init(probeJSON: request["value"] ?? .object([]), version: version)
                var buffer = ByteBuffer()
                try value.encode(into: &buffer, version: version)
                return .object([("ok", .bool(true)), ("hex", .string(Hex.encode(buffer.readableBytesView)))])
            case "reencode":
                let (type, version) = try target(of: request)
                var input = try bytes(request["hex"])
                let value = try type.decode(from: &input, version: version)
                var output = ByteBuffer()
                try value.encode(into: &output, version: version)
                return .object([("ok", .bool(true)), ("hex", .string(Hex.encode(output.readableBytesView))), ("remaining", .integer(Int64(input.readableBytes)))])
            case "schema":
                let (type, version) = try target(of: request, checkVersion: false)
                return .object([("ok", .bool(true)), ("fields", type.probeSchema(version: version))])
            default:
                throw ProbeError.badRequest("unknown op \(op)")
            }
        } catch {
            return failure(error)
        }
    }

    private static func target(of request: ProbeJSON, checkVersion: Bool = true) throws -> (any ProbeJSONMessage.Type, Int16) {
        guard case let .string(name)? = request["message"] else { throw ProbeError.badRequest("missing message") }
        guard let type = ProbeRegistry.messageTypes[name] else { throw ProbeError.unknownMessage(name) }
        guard case let .integer(raw)? = request["version"], let version = Int16(exactly: raw) else {
            throw ProbeError.badRequest("missing or bad version")
        }
        return (type, version)
    }

    private static func bytes(_ json: ProbeJSON?) throws -> ByteBuffer {
        guard case let .string(text)? = json, let bytes = Hex.decode(text) else { throw ProbeError.badRequest("missing or bad hex") }
        return ByteBuffer(bytes: bytes)
    }

    private static func list() -> [ProbeJSON] {
        ProbeRegistry.messageTypes.keys.sorted().map { name in
            let type = ProbeRegistry.messageTypes[name]!
            var members: [(String, ProbeJSON)] = [
                ("name", .string(name)),
                ("versions", .array([.integer(Int64(type.validVersions.lowerBound)), .integer(Int64(type.validVersions.upperBound))])),
                ("firstFlexibleVersion", type.firstFlexibleVersion.map { .integer(Int64($0)) } ?? .null),
            ]
            if let api = type as? any KafkaApiMessage.Type {
                members.append(("apiKey", .integer(Int64(api.apiKey.rawValue))))
            }
            return .object(members)
        }
    }

    private static func failure(_ error: Error) -> ProbeJSON {
        let kind: String
        if let error = error as? KafkaProtocolError {
            // The enum case name, which the tests match on (every case has a payload, so it is the child's label).
            kind = Mirror(reflecting: error).children.first?.label ?? "\(error)"
        } else {
            kind = "probe"
        }
        return .object([("ok", .bool(false)), ("kind", .string(kind)), ("error", .string("\(error)"))])
    }
}

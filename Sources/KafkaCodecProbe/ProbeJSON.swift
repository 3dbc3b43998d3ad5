import Foundation
import KafkaProtocol
import NIOCore

// A small JSON model for the probe's line protocol. Integers stay exact 64-bit
// values (Foundation's JSONSerialization would route them through NSNumber),
// and objects keep their member order, which the interop tests rely on to line
// fields up with kio's.

indirect enum ProbeJSON {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([ProbeJSON])
    case object([(String, ProbeJSON)])

    subscript(key: String) -> ProbeJSON? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    func members(of type: String) throws -> [(String, ProbeJSON)] {
        guard case let .object(members) = self else { throw ProbeError.typeMismatch(expected: "object for \(type)", found: self) }
        return members
    }

    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .integer: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

enum ProbeError: Error, CustomStringConvertible {
    case syntax(String)
    case typeMismatch(expected: String, found: ProbeJSON)
    case outOfRange(String)
    case unknownField(type: String, field: String)
    case unknownMessage(String)
    case badRequest(String)

    var description: String {
        switch self {
        case let .syntax(detail): return "JSON syntax: \(detail)"
        case let .typeMismatch(expected, found): return "expected \(expected), found \(found.kindName)"
        case let .outOfRange(detail): return "out of range: \(detail)"
        case let .unknownField(type, field): return "\(type) has no field \(field)"
        case let .unknownMessage(name): return "unknown message \(name)"
        case let .badRequest(detail): return "bad request: \(detail)"
        }
    }
}

// MARK: Text

extension ProbeJSON {
    static func parse(_ text: String) throws -> ProbeJSON {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw ProbeError.syntax("trailing characters") }
        return value
    }

    var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(value): out += value ? "true" : "false"
        case let .integer(value): out += String(value)
        case let .double(value): out += value.isFinite ? "\(value)" : "null"
        case let .string(value): ProbeJSON.writeString(value, to: &out)
        case let .array(values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                ProbeJSON.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws {
            let expected = Array(literal.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw ProbeError.syntax("expected \(literal) at \(index)")
            }
            index += expected.count
        }

        mutating func parseValue(depth: Int) throws -> ProbeJSON {
            guard depth < 200 else { throw ProbeError.syntax("nested too deeply") }
            guard index < bytes.count else { throw ProbeError.syntax("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "["):
                index += 1
                var values: [ProbeJSON] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
                while true {
                    skipWhitespace()
                    values.append(try parseValue(depth: depth + 1))
                    skipWhitespace()
                    guard index < bytes.count else { throw ProbeError.syntax("unterminated array") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    try expect("]")
                    return .array(values)
                }
            case UInt8(ascii: "{"):
                index += 1
                var members: [(String, ProbeJSON)] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                while true {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw ProbeError.syntax("expected key at \(index)") }
                    let key = try parseString()
                    skipWhitespace()
                    try expect(":")
                    skipWhitespace()
                    members.append((key, try parseValue(depth: depth + 1)))
                    skipWhitespace()
                    guard index < bytes.count else { throw ProbeError.syntax("unterminated object") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    try expect("}")
                    return .object(members)
                }
            default:
                return try parseNumber()
            }
        }

        mutating func parseNumber() throws -> ProbeJSON {
            let start = index
            var isDouble = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                    isDouble = true
                } else if !(byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || (byte >= 0x30 && byte <= 0x39)) {
                    break
                }
                index += 1
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if !isDouble, let value = Int64(text) { return .integer(value) }
            if let value = Double(text), isDouble { return .double(value) }
            throw ProbeError.syntax("bad number \(text)")
        }

        mutating func parseHex4() throws -> UInt32 {
            guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                throw ProbeError.syntax("bad \\u escape")
            }
            index += 4
            return value
        }

        mutating func parseString() throws -> String {
            index += 1
            var scalars = String.UnicodeScalarView()
            var run: [UInt8] = []
            func flush() {
                if !run.isEmpty {
                    scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                    run.removeAll()
                }
            }
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") {
                    flush()
                    return String(scalars)
                }
                guard byte == UInt8(ascii: "\\") else { run.append(byte); continue }
                flush()
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code) {
                        try expect("\\u")
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw ProbeError.syntax("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw ProbeError.syntax("invalid code point") }
                    scalars.append(scalar)
                default:
                    throw ProbeError.syntax("bad escape")
                }
            }
            throw ProbeError.syntax("unterminated string")
        }
    }
}

// MARK: Values

/// A value the probe can turn into JSON and back. `version` is the message version,
/// which decides the fields a struct shows.
protocol ProbeJSONConvertible {
    init(probeJSON json: ProbeJSON, version: Int16) throws
    func probeJSON(version: Int16) -> ProbeJSON
}

/// A generated struct: its conversions, plus a description of its fields at a version.
protocol ProbeJSONStruct: ProbeJSONConvertible {
    static func probeSchema(version: Int16) -> ProbeJSON
}

/// A top-level message the probe can be asked about by name.
protocol ProbeJSONMessage: KafkaMessage, ProbeJSONStruct {}

/// Reads a member into whatever type the assignment needs.
func probeDecode<T: ProbeJSONConvertible>(_ json: ProbeJSON, version: Int16) throws -> T {
    try T(probeJSON: json, version: version)
}

/// One entry of a `probeSchema` description.
func probeField(_ name: String, type: String, nullable: Bool, tag: UInt32?, fields: ProbeJSON?) -> ProbeJSON {
    var members: [(String, ProbeJSON)] = [("name", .string(name)), ("type", .string(type)), ("nullable", .bool(nullable))]
    members.append(("tag", tag.map { .integer(Int64($0)) } ?? .null))
    if let fields { members.append(("fields", fields)) }
    return .object(members)
}

protocol ProbeJSONInteger: ProbeJSONConvertible, FixedWidthInteger {}

extension ProbeJSONInteger {
    init(probeJSON json: ProbeJSON, version: Int16) throws {
        guard case let .integer(value) = json else { throw ProbeError.typeMismatch(expected: "integer", found: json) }
        guard let exact = Self(exactly: value) else { throw ProbeError.outOfRange("\(value) for \(Self.self)") }
        self = exact
    }

    func probeJSON(version: Int16) -> ProbeJSON { .integer(Int64(self)) }
}

extension Int8: ProbeJSONInteger {}
extension Int16: ProbeJSONInteger {}
extension Int32: ProbeJSONInteger {}
extension Int64: ProbeJSONInteger {}
extension UInt16: ProbeJSONInteger {}
extension UInt32: ProbeJSONInteger {}

extension Bool: ProbeJSONConvertible {
    init(probeJSON json: ProbeJSON, version: Int16) throws {
        guard case let .bool(value) = json else { throw ProbeError.typeMismatch(expected: "bool", found: json) }
        self = value
    }

    func probeJSON(version: Int16) -> ProbeJSON { .bool(self) }
}

extension Double: ProbeJSONConvertible {
    init(probeJSON json: ProbeJSON, version: Int16) throws {
        switch json {
        case let .double(value): self = value
        case let .integer(value): self = Double(value)
        default: throw ProbeError.typeMismatch(expected: "number", found: json)
        }
    }

    func probeJSON(version: Int16) -> ProbeJSON { .double(self) }
}

extension String: ProbeJSONConvertible {
    init(probeJSON json: ProbeJSON, version: Int16) throws {
        guard case let .string(value) = json else { throw ProbeError.typeMismatch(expected: "string", found: json) }
        self = value
    }

    func probeJSON(version: Int16) -> ProbeJSON { .string(self) }
}

extension UUID: ProbeJSONConvertible {
    init(probeJSON json: ProbeJSON, version: Int16) throws {
        guard case let .string(text) = json, let value = UUID(uuidString: text) else {
            throw ProbeError.typeMismatch(expected: "UUID string", found: json)
        }
        self = value
    }

    func probeJSON(version: Int16) -> ProbeJSON { .string(uuidString.lowercased()) }
}

/// Bytes travel as lowercase hex.
extension ByteBuffer: ProbeJSONConvertible {
    init(probeJSON json: ProbeJSON, version: Int16) throws {
        guard case let .string(text) = json, let bytes = Hex.decode(text) else {
            throw ProbeError.typeMismatch(expected: "hex string", found: json)
        }
        self.init(bytes: bytes)
    }

    func probeJSON(version: Int16) -> ProbeJSON { .string(Hex.encode(self.readableBytesView)) }
}

extension Optional: ProbeJSONConvertible where Wrapped: ProbeJSONConvertible {
    init(probeJSON json: ProbeJSON, version: Int16) throws {
        if case .null = json {
            self = nil
        } else {
            self = try Wrapped(probeJSON: json, version: version)
        }
    }

    func probeJSON(version: Int16) -> ProbeJSON {
        self.map { $0.probeJSON(version: version) } ?? .null
    }
}

extension Array: ProbeJSONConvertible where Element: ProbeJSONConvertible {
    init(probeJSON json: ProbeJSON, version: Int16) throws {
        guard case let .array(values) = json else { throw ProbeError.typeMismatch(expected: "array", found: json) }
        self = try values.map { try Element(probeJSON: $0, version: version) }
    }

    func probeJSON(version: Int16) -> ProbeJSON {
        .array(self.map { $0.probeJSON(version: version) })
    }
}

extension KafkaTaggedField: ProbeJSONConvertible {
    init(probeJSON json: ProbeJSON, version: Int16) throws {
        guard case let .integer(tag)? = json["tag"], let exactTag = UInt32(exactly: tag) else {
            throw ProbeError.typeMismatch(expected: "{\"tag\": n, \"hex\": ...}", found: json)
        }
        let data = try ByteBuffer(probeJSON: json["hex"] ?? .null, version: version)
        self.init(tag: exactTag, data: data)
    }

    func probeJSON(version: Int16) -> ProbeJSON {
        .object([("tag", .integer(Int64(tag))), ("hex", data.probeJSON(version: version))])
    }
}

enum Hex {
    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

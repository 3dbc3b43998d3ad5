import Foundation

// The JSON schema files exactly as Kafka publishes them: decoding only, no
// interpretation. `Model.swift` turns these into resolved types.

/// One schema file: a request, response, header or data structure.
struct MessageSchema: Decodable {
    var apiKey: Int16?
    var type: String
    var name: String
    var validVersions: String
    var flexibleVersions: String
    var fields: [FieldSchema]
    var commonStructs: [CommonStructSchema]?
}

/// A struct declared once at the top of a schema and referenced by name from several fields.
struct CommonStructSchema: Decodable {
    var name: String
    var versions: String
    var fields: [FieldSchema]
}

struct FieldSchema: Decodable {
    var name: String
    var type: String
    var versions: String
    var nullableVersions: String?
    var taggedVersions: String?
    var tag: SchemaInteger?
    var `default`: SchemaDefault?
    var ignorable: Bool?
    var about: String?
    var flexibleVersions: String?
    var fields: [FieldSchema]?
}

/// An integer the schemas sometimes write as a string (`"tag": "0"`).
struct SchemaInteger: Decodable {
    var value: Int

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            value = number
        } else if let number = Int(try container.decode(String.self)) {
            value = number
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an integer")
        }
    }
}

/// A field's `default`, which the schemas write as a string, a bare number or a bare boolean.
enum SchemaDefault: Decodable, Equatable {
    case string(String)
    case integer(Int64)
    case boolean(Bool)

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .boolean(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    /// The default as the schemas' string form, so that `"-1"` and `-1` mean the same.
    var text: String {
        switch self {
        case let .string(value): return value
        case let .integer(value): return String(value)
        case let .boolean(value): return value ? "true" : "false"
        }
    }
}

struct SchemaError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum SchemaLoader {
    /// Reads every `*.json` file in `directory`, sorted by file name so that output never depends on directory order.
    static func loadAll(from directory: URL) throws -> [(file: String, schema: MessageSchema)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SchemaError("schema directory \(directory.path) does not exist")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
        guard !names.isEmpty else { throw SchemaError("no *.json schema files in \(directory.path)") }
        return try names.map { name in
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            do {
                let json = try stripLineComments(text)
                return (name, try JSONDecoder().decode(MessageSchema.self, from: Data(json.utf8)))
            } catch {
                throw SchemaError("\(name): \(error)")
            }
        }
    }

    /// Removes `//` comments, which Kafka's schemas use but JSON forbids. A `//` inside
    /// a string (for example a URL in an "about") is left alone.
    static func stripLineComments(_ text: String) throws -> String {
        var output = [UInt8]()
        output.reserveCapacity(text.utf8.count)
        let bytes = Array(text.utf8)
        var index = 0
        var inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                output.append(byte)
                if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    output.append(bytes[index + 1])
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
                index += 1
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                output.append(byte)
                index += 1
            } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
            } else {
                output.append(byte)
                index += 1
            }
        }
        guard !inString else { throw SchemaError("unterminated string") }
        return String(decoding: output, as: UTF8.self)
    }
}

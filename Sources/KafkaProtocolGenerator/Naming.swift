import Foundation

// How schema names become Swift identifiers and literals.

enum Naming {
    /// `TopicData` → `topicData`, `KRaftVersion` → `kRaftVersion`: only the first letter
    /// changes, as in Kafka's own Java accessors, so names stay recognisable.
    static func propertyName(_ schemaName: String) -> String {
        guard let first = schemaName.first else { return schemaName }
        return first.lowercased() + schemaName.dropFirst()
    }

    /// An identifier safe to use in declarations: keywords get backticks.
    static func escaped(_ identifier: String) -> String {
        swiftKeywords.contains(identifier) ? "`\(identifier)`" : identifier
    }

    /// The `KafkaApiKey` member for an API: `ApiVersionsRequest` → `apiVersions`.
    static func apiKeyMember(messageName: String) -> String {
        var base = messageName
        for suffix in ["Request", "Response"] where base.hasSuffix(suffix) {
            base.removeLast(suffix.count)
        }
        return propertyName(base)
    }

    /// The API's name without direction: `ApiVersionsRequest` → `ApiVersions`.
    static func apiName(messageName: String) -> String {
        var base = messageName
        for suffix in ["Request", "Response"] where base.hasSuffix(suffix) {
            base.removeLast(suffix.count)
        }
        return base
    }

    /// A Swift string literal for arbitrary text.
    static func stringLiteral(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// A schema "about" as doc-comment text on one line.
    static func docText(_ about: String) -> String {
        about.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    /// Type names that generated code refers to unqualified; a nested struct with one of these
    /// names would shadow them inside its message, so the generator refuses it.
    static let reservedTypeNames: Set<String> = [
        "Bool", "Int8", "Int16", "Int32", "Int64", "UInt16", "UInt32", "Double", "String", "UUID",
        "ByteBuffer", "Optional", "Array", "Response", "KafkaTaggedField", "KafkaProtocolError",
        "KafkaApiKey", "KafkaStruct", "KafkaArrayElement", "Self", "Type", "Protocol", "Any",
    ]

    static let swiftKeywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
        "inout", "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public",
        "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue",
        "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return",
        "throw", "switch", "where", "while", "Any", "as", "await", "false", "is", "nil", "self", "Self",
        "super", "throws", "true", "try", "consume", "copy", "discard", "borrowing", "consuming",
    ]
}

import Foundation

// The resolved form of a schema: field types parsed, struct names bound to one
// definition each, defaults checked, and for every struct the versions at which
// it can be encoded. Emitters read only this.

indirect enum FieldType: Equatable {
    case bool, int8, int16, uint16, int32, uint32, int64, float64, string, bytes, records, uuid
    case array(FieldType)
    case structure(String)

    init(parsing text: String) throws {
        if text.hasPrefix("[]") {
            let element = try FieldType(parsing: String(text.dropFirst(2)))
            if case .array = element { throw SchemaError("nested arrays are not part of the protocol: \(text)") }
            self = .array(element)
            return
        }
        switch text {
        case "bool": self = .bool
        case "int8": self = .int8
        case "int16": self = .int16
        case "uint16": self = .uint16
        case "int32": self = .int32
        case "uint32": self = .uint32
        case "int64": self = .int64
        case "float64": self = .float64
        case "string": self = .string
        case "bytes": self = .bytes
        case "records": self = .records
        case "uuid": self = .uuid
        default:
            guard let first = text.unicodeScalars.first, CharacterSet.uppercaseLetters.contains(first) else {
                throw SchemaError("unknown field type \(text)")
            }
            self = .structure(text)
        }
    }

    var structName: String? {
        switch self {
        case let .structure(name): return name
        case let .array(element): return element.structName
        default: return nil
        }
    }

    var isInteger: Bool {
        switch self {
        case .int8, .int16, .uint16, .int32, .uint32, .int64: return true
        default: return false
        }
    }

    /// The integer range a default literal must fit.
    var integerBounds: ClosedRange<Int64>? {
        switch self {
        case .int8: return Int64(Int8.min)...Int64(Int8.max)
        case .int16: return Int64(Int16.min)...Int64(Int16.max)
        case .uint16: return 0...Int64(UInt16.max)
        case .int32: return Int64(Int32.min)...Int64(Int32.max)
        case .uint32: return 0...Int64(UInt32.max)
        case .int64: return Int64.min...Int64.max
        default: return nil
        }
    }
}

/// What a field holds when nobody sets it, following Kafka's rules.
enum DefaultValue: Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case emptyBytes
    case zeroUUID
    case emptyArray
    case structInit
}

struct FieldModel {
    var schemaName: String
    /// The Swift property name, escaped when it is a keyword.
    var property: String
    var type: FieldType
    var schemaType: String
    var versions: VersionSet
    var nullableVersions: VersionSet
    var taggedVersions: VersionSet
    var tag: UInt32?
    /// Versions in which strings, bytes and arrays of this field may use compact encodings,
    /// narrowed by a per-field `flexibleVersions` override.
    var flexibleOverride: VersionSet?
    var ignorable: Bool
    var about: String?
    var defaultValue: DefaultValue
    /// For struct and struct-array fields, the definition the type name resolves to.
    var structModel: StructModel?

    var isNullableType: Bool { !nullableVersions.isEmpty }
    /// Versions in which the field is written in the fixed part of the struct.
    var inlineVersions: VersionSet { versions.subtracting(taggedVersions) }
    /// Versions in which the field exists at all.
    var presentVersions: VersionSet { versions.union(taggedVersions) }
}

final class StructModel {
    let name: String
    /// The Swift type name relative to module scope, for example `ProduceRequest.TopicProduceData`.
    var qualifiedName: String
    var fields: [FieldModel] = []
    /// Structs that had to be declared inside this one because another struct of the same name
    /// but a different shape already exists in the message.
    var nestedStructs: [StructModel] = []
    let about: String?
    let shapeKey: String
    /// Versions at which this struct can be encoded (a superset is harmless, it only costs conditions).
    var domain: VersionSet = .none
    let isTopLevel: Bool

    init(name: String, qualifiedName: String, about: String?, shapeKey: String, isTopLevel: Bool) {
        self.name = name
        self.qualifiedName = qualifiedName
        self.about = about
        self.shapeKey = shapeKey
        self.isTopLevel = isTopLevel
    }
}

enum MessageKind: String {
    case request, response, header, data
}

final class MessageModel {
    let fileName: String
    let name: String
    let kind: MessageKind
    let apiKey: Int16?
    let validVersions: ClosedRange<Int>
    let flexibleVersions: VersionSet
    let root: StructModel
    /// Structs declared directly in the message type, in first-use order.
    var structs: [StructModel] = []
    /// Every struct, the root included.
    var allStructs: [StructModel] = []
    /// Simple names used by more than one struct; references to these are written qualified.
    var ambiguousNames: Set<String> = []
    var usesUUID = false

    var firstFlexibleVersion: Int? { flexibleVersions.lowest }

    init(fileName: String, name: String, kind: MessageKind, apiKey: Int16?, validVersions: ClosedRange<Int>,
         flexibleVersions: VersionSet, root: StructModel) {
        self.fileName = fileName
        self.name = name
        self.kind = kind
        self.apiKey = apiKey
        self.validVersions = validVersions
        self.flexibleVersions = flexibleVersions
        self.root = root
    }

    /// Whether `structure` is ever encoded in a flexible version, and if so whether always.
    func flexibility(of structure: StructModel) -> Flexibility {
        let flexible = flexibleVersions.intersection(structure.domain)
        if flexible.isEmpty { return .never }
        return flexible == structure.domain ? .always : .sometimes
    }

    /// How generated code names the type of `structure` from anywhere inside this message.
    func typeReference(_ structure: StructModel) -> String {
        ambiguousNames.contains(structure.name) ? structure.qualifiedName : structure.name
    }
}

enum Flexibility { case never, sometimes, always }

/// Turns a decoded schema into a `MessageModel`.
struct ModelBuilder {
    let fileName: String
    let schema: MessageSchema
    private var flatScope: [String: StructModel] = [:]
    private var commonNames: Set<String> = []
    private var all: [StructModel] = []

    init(fileName: String, schema: MessageSchema) {
        self.fileName = fileName
        self.schema = schema
    }

    static func build(fileName: String, schema: MessageSchema) throws -> MessageModel {
        var builder = ModelBuilder(fileName: fileName, schema: schema)
        do {
            return try builder.build()
        } catch let error as SchemaError {
            throw SchemaError("\(fileName): \(error.description)")
        }
    }

    private mutating func build() throws -> MessageModel {
        guard let kind = MessageKind(rawValue: schema.type) else { throw SchemaError("unknown message type \(schema.type)") }
        guard schema.name + ".json" == fileName else { throw SchemaError("file name does not match schema name \(schema.name)") }
        let valid = try VersionSet(parsing: schema.validVersions)
        guard valid.ranges.count == 1, let validRange = valid.ranges.first, validRange.upperBound < VersionSet.open else {
            throw SchemaError("validVersions must be one bounded range")
        }
        let flexible = try VersionSet(parsing: schema.flexibleVersions)
        guard flexible.isEmpty || (flexible.ranges.count == 1 && flexible.highest == VersionSet.open) else {
            throw SchemaError("flexibleVersions must be \"N+\" or \"none\"")
        }
        if kind == .request || kind == .response {
            guard schema.apiKey != nil else { throw SchemaError("\(kind) without apiKey") }
        }

        // Common structs first: fields anywhere may refer to them by name.
        var commonModels: [StructModel] = []
        for common in schema.commonStructs ?? [] {
            guard flatScope[common.name] == nil else { throw SchemaError("common struct \(common.name) declared twice") }
            commonNames.insert(common.name)
            let model = StructModel(name: common.name, qualifiedName: "\(schema.name).\(common.name)", about: nil,
                                    shapeKey: "common:\(common.name)", isTopLevel: false)
            flatScope[common.name] = model
            commonModels.append(model)
        }
        let root = StructModel(name: schema.name, qualifiedName: schema.name, about: nil, shapeKey: "root", isTopLevel: true)
        let message = MessageModel(fileName: fileName, name: schema.name, kind: kind, apiKey: schema.apiKey,
                                   validVersions: validRange, flexibleVersions: flexible.intersection(valid), root: root)
        var order: [StructModel] = []
        for (index, common) in (schema.commonStructs ?? []).enumerated() {
            commonModels[index].fields = try resolveFields(common.fields, parent: commonModels[index], valid: valid, order: &order)
        }
        root.fields = try resolveFields(schema.fields, parent: root, valid: valid, order: &order)
        message.structs = order.filter { $0.qualifiedName == "\(schema.name).\($0.name)" }
        for common in commonModels where !message.structs.contains(where: { $0 === common }) {
            message.structs.append(common)
        }

        var everything = [root]
        func collect(_ structure: StructModel) {
            for child in structure.nestedStructs { everything.append(child); collect(child) }
        }
        collect(root)
        for structure in message.structs { everything.append(structure); collect(structure) }
        message.allStructs = everything

        var nameCounts: [String: Int] = [:]
        for structure in everything where !structure.isTopLevel { nameCounts[structure.name, default: 0] += 1 }
        message.ambiguousNames = Set(nameCounts.filter { $0.value > 1 }.keys)
        for (name, _) in nameCounts where Naming.reservedTypeNames.contains(name) || name == schema.name {
            throw SchemaError("nested struct name \(name) would shadow a type the generated code uses")
        }

        computeDomains(message: message, valid: valid)
        message.usesUUID = everything.contains { $0.fields.contains { f in f.type == .uuid || f.type == .array(.uuid) } }
        return message
    }

    private mutating func resolveFields(_ fields: [FieldSchema], parent: StructModel, valid: VersionSet,
                                        order: inout [StructModel]) throws -> [FieldModel] {
        var properties: Set<String> = []
        var tags: Set<UInt32> = []
        return try fields.map { field in
            let model = try resolveField(field, parent: parent, valid: valid, order: &order)
            guard properties.insert(model.property).inserted else {
                throw SchemaError("two fields of \(parent.name) map to property \(model.property)")
            }
            if let tag = model.tag, !tags.insert(tag).inserted {
                throw SchemaError("tag \(tag) used twice in \(parent.name)")
            }
            return model
        }
    }

    private mutating func resolveField(_ field: FieldSchema, parent: StructModel, valid: VersionSet,
                                       order: inout [StructModel]) throws -> FieldModel {
        let context = "\(parent.name).\(field.name)"
        let type = try FieldType(parsing: field.type)
        let versions = try VersionSet(parsing: field.versions)
        let nullable = try field.nullableVersions.map { try VersionSet(parsing: $0) } ?? .none
        let tagged = try field.taggedVersions.map { try VersionSet(parsing: $0) } ?? .none
        guard (field.tag == nil) == tagged.isEmpty else {
            throw SchemaError("\(context): tag and taggedVersions must come together")
        }
        guard tagged.isSubset(of: versions) else { throw SchemaError("\(context): taggedVersions outside versions") }
        if let tag = field.tag?.value, tag < 0 { throw SchemaError("\(context): negative tag") }
        if !nullable.isEmpty {
            switch type {
            case .string, .bytes, .records, .array, .structure: break
            default: throw SchemaError("\(context): \(field.type) cannot be nullable")
            }
        }
        var structModel: StructModel?
        if let structName = type.structName {
            structModel = try resolveStruct(named: structName, field: field, parent: parent, valid: valid, order: &order)
        }
        let defaultValue = try Self.defaultValue(for: field, type: type, nullable: !nullable.isEmpty, context: context)
        return FieldModel(
            schemaName: field.name,
            property: Naming.escaped(Naming.propertyName(field.name)),
            type: type,
            schemaType: field.type,
            versions: versions.intersection(valid),
            nullableVersions: nullable.intersection(valid),
            taggedVersions: tagged.intersection(valid),
            tag: field.tag.map { UInt32($0.value) },
            flexibleOverride: try field.flexibleVersions.map { try VersionSet(parsing: $0) },
            ignorable: field.ignorable ?? false,
            about: field.about,
            defaultValue: defaultValue,
            structModel: structModel
        )
    }

    /// Binds a struct type name to a definition. Identical shapes share one type; a second,
    /// different shape under the same name is declared inside the struct that uses it, where
    /// it shadows the first.
    private mutating func resolveStruct(named name: String, field: FieldSchema, parent: StructModel, valid: VersionSet,
                                        order: inout [StructModel]) throws -> StructModel {
        guard let fields = field.fields else {
            guard let common = flatScope[name], commonNames.contains(name) else {
                throw SchemaError("\(parent.name).\(field.name): struct \(name) has no fields and no common definition")
            }
            return common
        }
        let shape = Self.shapeKey(fields)
        if let existing = flatScope[name] {
            if existing.shapeKey == shape { return existing }
            if let sibling = parent.nestedStructs.first(where: { $0.name == name }) {
                if sibling.shapeKey == shape { return sibling }
                throw SchemaError("\(parent.name) uses two different structs named \(name)")
            }
            guard !parent.isTopLevel else {
                throw SchemaError("\(schema.name) declares struct \(name) in two different shapes at its top level")
            }
            let nested = StructModel(name: name, qualifiedName: "\(parent.qualifiedName).\(name)", about: field.about,
                                     shapeKey: shape, isTopLevel: false)
            parent.nestedStructs.append(nested)
            nested.fields = try resolveFields(fields, parent: nested, valid: valid, order: &order)
            return nested
        }
        let model = StructModel(name: name, qualifiedName: "\(schema.name).\(name)", about: field.about,
                                shapeKey: shape, isTopLevel: false)
        flatScope[name] = model
        order.append(model)
        model.fields = try resolveFields(fields, parent: model, valid: valid, order: &order)
        return model
    }

    /// Everything about a struct's fields that affects its Swift type or wire format (not the prose).
    private static func shapeKey(_ fields: [FieldSchema]) -> String {
        fields.map { f in
            let parts: [String] = [
                f.name, f.type, f.versions, f.nullableVersions ?? "", f.taggedVersions ?? "",
                f.tag.map { String($0.value) } ?? "", f.default?.text ?? "", f.ignorable == true ? "i" : "",
                f.flexibleVersions ?? "", f.fields.map { "{\(shapeKey($0))}" } ?? "",
            ]
            return parts.joined(separator: "|")
        }.joined(separator: ";")
    }

    private static func defaultValue(for field: FieldSchema, type: FieldType, nullable: Bool, context: String) throws -> DefaultValue {
        let text = field.default?.text
        if text == "null" {
            guard nullable else { throw SchemaError("\(context): default null on a non-nullable field") }
            return .null
        }
        switch type {
        case .bool:
            switch text?.lowercased() {
            case nil, "", "false": return .bool(false)
            case "true": return .bool(true)
            default: throw SchemaError("\(context): bad bool default \(text!)")
            }
        case .int8, .int16, .uint16, .int32, .uint32, .int64:
            guard let text, !text.isEmpty else { return .integer(0) }
            guard let value = parseInteger(text), type.integerBounds!.contains(value) else {
                throw SchemaError("\(context): bad integer default \(text)")
            }
            return .integer(value)
        case .float64:
            guard let text, !text.isEmpty else { return .double(0) }
            guard let value = Double(text), value.isFinite else { throw SchemaError("\(context): bad float default \(text)") }
            return .double(value)
        case .string:
            return .string(text ?? "")
        case .bytes:
            guard text == nil || text == "" else { throw SchemaError("\(context): bytes default must be null or empty") }
            return .emptyBytes
        case .records:
            // Kafka treats an unset records field as null wherever null is allowed.
            guard text == nil || text == "" else { throw SchemaError("\(context): records default must be null or empty") }
            return nullable ? .null : .emptyBytes
        case .uuid:
            guard text == nil || text == "" || text == "AAAAAAAAAAAAAAAAAAAAAA" else {
                throw SchemaError("\(context): only the zero UUID is supported as a default")
            }
            return .zeroUUID
        case .array:
            guard text == nil || text == "" else { throw SchemaError("\(context): arrays default to empty or null") }
            return .emptyArray
        case .structure:
            guard text == nil || text == "" else { throw SchemaError("\(context): structs default to their fields' defaults or null") }
            return .structInit
        }
    }

    private static func parseInteger(_ text: String) -> Int64? {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        var negative = false
        if body.hasPrefix("-") { negative = true; body = body.dropFirst() }
        let magnitude: UInt64?
        if body.lowercased().hasPrefix("0x") {
            magnitude = UInt64(body.dropFirst(2), radix: 16)
        } else {
            magnitude = UInt64(body, radix: 10)
        }
        guard let magnitude else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Every struct's domain: the versions of its users in which the using field exists.
    private func computeDomains(message: MessageModel, valid: VersionSet) {
        message.root.domain = valid
        var changed = true
        while changed {
            changed = false
            for structure in message.allStructs where !structure.domain.isEmpty {
                for field in structure.fields {
                    guard let child = field.structModel else { continue }
                    let usage = structure.domain.intersection(field.presentVersions)
                    let updated = child.domain.union(usage)
                    if updated != child.domain {
                        child.domain = updated
                        changed = true
                    }
                }
            }
        }
        // A struct no version uses still needs a type; give its code the message's versions.
        for structure in message.allStructs where structure.domain.isEmpty {
            structure.domain = valid
        }
    }
}

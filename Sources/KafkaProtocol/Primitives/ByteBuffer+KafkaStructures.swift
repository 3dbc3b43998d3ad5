import NIOCore

// The composite encodings generated code is made of: values that are nullable in
// some versions only, arrays, nullable structs, and tagged-field sections. Each
// helper takes the per-version facts (compact? nullable?) as arguments, so that
// generated code stays straight-line calls.
extension ByteBuffer {
    // MARK: Nullable in some versions

    /// Writes a string whose field is nullable only in some versions: `nil` is refused where `nullable` is false.
    @inlinable
    public mutating func writeKafkaNullableString(_ value: String?, compact: Bool, nullable: Bool, context: @autoclosure () -> String) throws {
        if value == nil && !nullable { throw KafkaProtocolError.unexpectedNull(context: context()) }
        try self.writeKafkaString(value, compact: compact)
    }

    /// Reads a string whose field is nullable only in some versions: null is refused where `nullable` is false.
    @inlinable
    public mutating func readKafkaNullableString(compact: Bool, nullable: Bool, context: @autoclosure () -> String) throws -> String? {
        nullable
            ? try self.readKafkaNullableString(compact: compact, context: context())
            : try self.readKafkaString(compact: compact, context: context())
    }

    /// Writes bytes whose field is nullable only in some versions: `nil` is refused where `nullable` is false.
    @inlinable
    public mutating func writeKafkaNullableBytes(_ value: ByteBuffer?, compact: Bool, nullable: Bool, context: @autoclosure () -> String) throws {
        if value == nil && !nullable { throw KafkaProtocolError.unexpectedNull(context: context()) }
        self.writeKafkaBytes(value, compact: compact)
    }

    /// Reads bytes whose field is nullable only in some versions: null is refused where `nullable` is false.
    @inlinable
    public mutating func readKafkaNullableBytes(compact: Bool, nullable: Bool, context: @autoclosure () -> String) throws -> ByteBuffer? {
        nullable
            ? try self.readKafkaNullableBytes(compact: compact, context: context())
            : try self.readKafkaBytes(compact: compact, context: context())
    }

    // MARK: Arrays

    /// Writes a count then every element.
    @inlinable
    public mutating func writeKafkaArray<Element: KafkaArrayElement>(_ elements: [Element], compact: Bool, version: Int16) throws {
        self.writeKafkaArrayCount(elements.count, compact: compact)
        for element in elements {
            try element.writeKafkaElement(into: &self, compact: compact, version: version)
        }
    }

    /// Writes an array that may be null; `nil` is refused where `nullable` is false.
    @inlinable
    public mutating func writeKafkaNullableArray<Element: KafkaArrayElement>(
        _ elements: [Element]?, compact: Bool, nullable: Bool, version: Int16, context: @autoclosure () -> String
    ) throws {
        guard let elements else {
            guard nullable else { throw KafkaProtocolError.unexpectedNull(context: context()) }
            self.writeKafkaArrayCount(nil, compact: compact)
            return
        }
        try self.writeKafkaArray(elements, compact: compact, version: version)
    }

    /// Reads a non-null array. The count is checked against the remaining bytes before
    /// anything is stored, and storage grows with the elements actually read.
    @inlinable
    public mutating func readKafkaArray<Element: KafkaArrayElement>(compact: Bool, version: Int16, context: @autoclosure () -> String) throws -> [Element] {
        guard let count = try self.readKafkaArrayCount(compact: compact, context: context()) else {
            throw KafkaProtocolError.unexpectedNull(context: context())
        }
        return try self.readKafkaArrayElements(count: count, compact: compact, version: version, context: context())
    }

    /// Reads an array that may be null; null is refused where `nullable` is false.
    @inlinable
    public mutating func readKafkaNullableArray<Element: KafkaArrayElement>(
        compact: Bool, nullable: Bool, version: Int16, context: @autoclosure () -> String
    ) throws -> [Element]? {
        guard let count = try self.readKafkaArrayCount(compact: compact, context: context()) else {
            guard nullable else { throw KafkaProtocolError.unexpectedNull(context: context()) }
            return nil
        }
        return try self.readKafkaArrayElements(count: count, compact: compact, version: version, context: context())
    }

    @inlinable
    mutating func readKafkaArrayElements<Element: KafkaArrayElement>(
        count: Int, compact: Bool, version: Int16, context: @autoclosure () -> String
    ) throws -> [Element] {
        var elements: [Element] = []
        // Every element takes at least one byte, so `count` is bounded by the input; a
        // cap still keeps a hostile count of large structs from reserving much up front.
        elements.reserveCapacity(Swift.min(count, 1024))
        for _ in 0..<count {
            elements.append(try Element.readKafkaElement(from: &self, compact: compact, version: version, context: context()))
        }
        return elements
    }

    // MARK: Nullable structs

    /// Writes a struct that may be null. In nullable versions a presence byte comes first
    /// (-1 for null, 1 for present); elsewhere the struct is written bare and `nil` is refused.
    @inlinable
    public mutating func writeKafkaNullableStruct<Value: KafkaStruct>(
        _ value: Value?, nullable: Bool, version: Int16, context: @autoclosure () -> String
    ) throws {
        guard nullable else {
            guard let value else { throw KafkaProtocolError.unexpectedNull(context: context()) }
            try value.encode(into: &self, version: version)
            return
        }
        guard let value else {
            self.writeInteger(-1, as: Int8.self)
            return
        }
        self.writeInteger(1, as: Int8.self)
        try value.encode(into: &self, version: version)
    }

    /// Reads a struct that may be null: the counterpart of `writeKafkaNullableStruct`.
    @inlinable
    public mutating func readKafkaNullableStruct<Value: KafkaStruct>(nullable: Bool, version: Int16, context: @autoclosure () -> String) throws -> Value? {
        if nullable {
            let presence = try self.readKafkaInteger(Int8.self, context: context())
            if presence < 0 { return nil }
        }
        return try Value.decode(from: &self, version: version)
    }

    // MARK: Tagged-field sections

    /// Writes a tagged-field section: the known fields (already encoded, ascending by tag)
    /// merged with the unknown ones in tag order, as the protocol requires.
    @inlinable
    public mutating func writeKafkaTaggedFields(_ known: [KafkaTaggedField], unknown: [KafkaTaggedField]) {
        if unknown.isEmpty {
            self.writeUnsignedVarint(UInt32(known.count))
            for field in known { self.writeKafkaTaggedField(tag: field.tag, data: field.data) }
            return
        }
        let merged = (known + unknown).sorted { $0.tag < $1.tag }
        self.writeUnsignedVarint(UInt32(merged.count))
        for field in merged { self.writeKafkaTaggedField(tag: field.tag, data: field.data) }
    }

    /// Reads a tagged-field section of a struct that knows no tags at this version.
    @inlinable
    public mutating func readKafkaUnknownTaggedFields(context: @autoclosure () -> String) throws -> [KafkaTaggedField] {
        var remaining = try self.readUnsignedVarint(context: context())
        var fields: [KafkaTaggedField] = []
        while remaining > 0 {
            remaining -= 1
            let field = try self.readKafkaTaggedField(context: context())
            fields.append(KafkaTaggedField(tag: field.tag, data: field.data))
        }
        return fields
    }

    /// Checks that a known tagged field's decoder consumed exactly the bytes its size announced.
    @inlinable
    public func requireKafkaFullyRead(context: @autoclosure () -> String) throws {
        if self.readableBytes != 0 {
            throw KafkaProtocolError.invalidLength(context: context() + " tagged field", length: self.readableBytes)
        }
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// A type that can be an element of a Kafka array. One protocol for primitives and
/// structs lets generated code read and write every array with the same two calls.
public protocol KafkaArrayElement: Sendable {
    /// Reads one element. `compact` selects string and byte length encodings; `version`
    /// is the enclosing message's version, which struct elements need.
    static func readKafkaElement(from buffer: inout ByteBuffer, compact: Bool, version: Int16, context: @autoclosure () -> String) throws -> Self
    /// Writes one element.
    func writeKafkaElement(into buffer: inout ByteBuffer, compact: Bool, version: Int16) throws
}

/// Fixed-width integers are written big-endian whatever the flexibility.
public protocol KafkaFixedWidthArrayElement: KafkaArrayElement, FixedWidthInteger {}

extension KafkaFixedWidthArrayElement {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, compact: Bool, version: Int16, context: @autoclosure () -> String) throws -> Self {
        try buffer.readKafkaInteger(Self.self, context: context())
    }

    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, compact: Bool, version: Int16) {
        buffer.writeInteger(self, endianness: .big)
    }
}

extension Int8: KafkaFixedWidthArrayElement {}
extension Int16: KafkaFixedWidthArrayElement {}
extension Int32: KafkaFixedWidthArrayElement {}
extension Int64: KafkaFixedWidthArrayElement {}
extension UInt16: KafkaFixedWidthArrayElement {}
extension UInt32: KafkaFixedWidthArrayElement {}

extension Bool: KafkaArrayElement {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, compact: Bool, version: Int16, context: @autoclosure () -> String) throws -> Bool {
        try buffer.readKafkaBool(context: context())
    }

    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, compact: Bool, version: Int16) {
        buffer.writeKafkaBool(self)
    }
}

extension Double: KafkaArrayElement {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, compact: Bool, version: Int16, context: @autoclosure () -> String) throws -> Double {
        try buffer.readKafkaFloat64(context: context())
    }

    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, compact: Bool, version: Int16) {
        buffer.writeKafkaFloat64(self)
    }
}

extension String: KafkaArrayElement {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, compact: Bool, version: Int16, context: @autoclosure () -> String) throws -> String {
        try buffer.readKafkaString(compact: compact, context: context())
    }

    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, compact: Bool, version: Int16) throws {
        try buffer.writeKafkaString(self, compact: compact)
    }
}

extension ByteBuffer: KafkaArrayElement {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, compact: Bool, version: Int16, context: @autoclosure () -> String) throws -> ByteBuffer {
        try buffer.readKafkaBytes(compact: compact, context: context())
    }

    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, compact: Bool, version: Int16) {
        buffer.writeKafkaBytes(self, compact: compact)
    }
}

extension UUID: KafkaArrayElement {
    @inlinable
    public static func readKafkaElement(from buffer: inout ByteBuffer, compact: Bool, version: Int16, context: @autoclosure () -> String) throws -> UUID {
        try buffer.readKafkaUUID(context: context())
    }

    @inlinable
    public func writeKafkaElement(into buffer: inout ByteBuffer, compact: Bool, version: Int16) {
        buffer.writeKafkaUUID(self)
    }
}

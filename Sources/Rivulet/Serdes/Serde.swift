import NIOCore

/// Turns values of `T` into bytes and back: Kafka's `Serde`, a serializer and a deserializer together.
///
/// Kafka records may carry a null key or value. A serde represents null as `nil` bytes:
/// `serialize` returns `nil` for a value that stands for null, and `deserialize(nil)`
/// gives the value that stands for null. Only serdes of optional types have such a value
/// (see ``optional(_:)``); any other serde throws ``SerdeError/unexpectedNull(type:)`` when
/// handed null bytes, so a `Serde<String>` never silently invents an empty string.
///
/// Serdes are values: copy them freely, share them across tasks.
public struct Serde<T>: Sendable {
    /// Appends the encoding of a value to the buffer; returns `false`, writing nothing, when
    /// the value stands for null.
    public typealias Writer = @Sendable (_ value: T, _ buffer: inout ByteBuffer) throws -> Bool
    /// Decodes a value from all the readable bytes of the buffer.
    public typealias Reader = @Sendable (_ bytes: ByteBuffer) throws -> T

    @usableFromInline let writer: Writer
    @usableFromInline let reader: Reader
    /// The value null bytes stand for; `nil` when this serde has none (non-optional types).
    @usableFromInline let nullValue: (@Sendable () -> T)?
    /// The byte format when this is one of the built-in serdes that stores read and write
    /// in place (see ``SerdeFormat``); `.opaque` for every other serde.
    @usableFromInline let format: SerdeFormat

    /// A serde from two closures. `serialize` appends the bytes of a value; `deserialize`
    /// reads a value from every readable byte it is given. Neither sees null: use
    /// ``optional(_:)`` on the result to accept null.
    public init(
        serialize: @escaping @Sendable (_ value: T, _ buffer: inout ByteBuffer) throws -> Void,
        deserialize: @escaping @Sendable (_ bytes: ByteBuffer) throws -> T
    ) {
        self.writer = { value, buffer in
            try serialize(value, &buffer)
            return true
        }
        self.reader = deserialize
        self.nullValue = nil
        self.format = .opaque
    }

    /// The designated form: a writer that may report null, a reader, and the value of null.
    public init(writer: @escaping Writer, reader: @escaping Reader, nullValue: (@Sendable () -> T)?) {
        self.init(writer: writer, reader: reader, nullValue: nullValue, format: .opaque)
    }

    /// A serde whose closures implement `format` (only the built-in serdes claim a format).
    init(writer: @escaping Writer, reader: @escaping Reader, nullValue: (@Sendable () -> T)?, format: SerdeFormat) {
        self.writer = writer
        self.reader = reader
        self.nullValue = nullValue
        self.format = format
    }

    /// Whether null bytes are a value of this serde (true for serdes of optional types).
    public var acceptsNull: Bool { nullValue != nil }

    /// ``serialize(_:)`` as a closure. Hot paths of generic code keep these: calling a method of
    /// `Serde<T>` from unspecialized code asks the runtime for `Serde<T>`'s type metadata (a
    /// hash-table lookup) on every call, calling a closure does not.
    var serializer: @Sendable (T) throws -> ByteBuffer? {
        let writer = self.writer
        return { value in
            var buffer = ByteBuffer()
            return try writer(value, &buffer) ? buffer : nil
        }
    }

    /// ``deserialize(_:)-(ByteBuffer?)`` as a closure (see ``serializer``).
    var deserializer: @Sendable (ByteBuffer?) throws -> T {
        let reader = self.reader
        let nullValue = self.nullValue
        return { bytes in
            guard let bytes else {
                guard let nullValue else { throw SerdeError.unexpectedNull(type: "\(T.self)") }
                return nullValue()
            }
            return try reader(bytes)
        }
    }

    /// The bytes of `value`, or `nil` when it stands for null.
    @inlinable
    public func serialize(_ value: T) throws -> ByteBuffer? {
        var buffer = ByteBuffer()
        return try writer(value, &buffer) ? buffer : nil
    }

    /// Appends the bytes of `value` to `buffer`; `false` (and nothing written) when it stands for null.
    ///
    /// Hot paths use this form to reuse one scratch buffer instead of allocating per record.
    @inlinable
    public func serialize(_ value: T, into buffer: inout ByteBuffer) throws -> Bool {
        try writer(value, &buffer)
    }

    /// The value of `bytes`; `nil` bytes are null, which only serdes of optional types accept.
    @inlinable
    public func deserialize(_ bytes: ByteBuffer?) throws -> T {
        guard let bytes else {
            guard let nullValue else { throw SerdeError.unexpectedNull(type: "\(T.self)") }
            return nullValue()
        }
        return try reader(bytes)
    }

    /// The value of a byte array (convenience for tests and tools).
    public func deserialize(_ bytes: [UInt8]?) throws -> T {
        try deserialize(bytes.map { ByteBuffer(bytes: $0) })
    }

    /// A serde of `R` through this one: `R` is converted to `T` before serializing and back after
    /// deserializing. The result does not accept null; wrap it in ``optional(_:)`` for that.
    public func map<R>(
        to forward: @escaping @Sendable (T) throws -> R,
        from backward: @escaping @Sendable (R) throws -> T
    ) -> Serde<R> {
        let writer = self.writer
        let reader = self.reader
        return Serde<R>(
            writer: { value, buffer in try writer(backward(value), &buffer) },
            reader: { bytes in try forward(reader(bytes)) },
            nullValue: nil
        )
    }
}

/// Byte formats of built-in serdes that the stores recognise, to read and write such values in
/// place (in a cache entry's bytes) instead of calling the serde's closures: the serde's own
/// closures produce exactly the same bytes, so the two paths are interchangeable. A serde made
/// from user closures is always `.opaque`, so no user code runs inside a store's internals.
@usableFromInline
enum SerdeFormat: Sendable, Equatable {
    /// No format the stores know.
    case opaque
    /// An `Int64` in eight big-endian bytes (``Serde/int64``), null not accepted.
    case bigEndianInt64
}

// Varint readers over raw bytes for the record hot path. The ByteBuffer readers in
// Primitives check bounds and move indices per byte; these read straight from a
// pointer with one bound (`end`, the end of the current record) and keep the
// one-byte case, by far the most common in records, inline and branch-light.

/// Reads an unsigned varint of at most `maxBytes` bytes from `raw[position..<end]`.
@inline(__always)
func readRawUnsignedVarint(_ raw: UnsafeRawBufferPointer, _ position: inout Int, _ end: Int, maxBytes: Int, context: StaticString) throws -> UInt64 {
    guard position < end else { throw truncatedField(context, needed: 1, available: 0) }
    let first = raw[position]
    if first < 0x80 {
        position += 1
        return UInt64(first)
    }
    // Two bytes cover lengths up to 8191 and deltas up to ±8191 after zig-zag: most of the rest.
    if position + 1 < end {
        let second = raw[position + 1]
        if second < 0x80 {
            position += 2
            return UInt64(first & 0x7F) | UInt64(second) << 7
        }
    }
    return try readRawUnsignedVarintSlow(raw, &position, end, maxBytes: maxBytes, context: context)
}

@inline(never)
func readRawUnsignedVarintSlow(_ raw: UnsafeRawBufferPointer, _ position: inout Int, _ end: Int, maxBytes: Int, context: StaticString) throws -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    var index = position
    for _ in 0..<maxBytes {
        guard index < end else { throw truncatedField(context, needed: index - position + 1, available: end - position) }
        let byte = raw[index]
        index += 1
        result |= UInt64(byte & 0x7F) << shift
        if byte & 0x80 == 0 {
            position = index
            return result
        }
        shift += 7
    }
    throw KafkaProtocolError.malformedVarint(context: "\(context)")
}

/// A zig-zag varint that must fit 32 bits (record lengths, offset deltas, counts).
@inline(__always)
func readRawVarint(_ raw: UnsafeRawBufferPointer, _ position: inout Int, _ end: Int, context: StaticString) throws -> Int32 {
    let value = try readRawUnsignedVarint(raw, &position, end, maxBytes: 5, context: context)
    guard value <= UInt64(UInt32.max) else { throw KafkaProtocolError.malformedVarint(context: "\(context)") }
    let bits = UInt32(truncatingIfNeeded: value)
    return Int32(bitPattern: (bits >> 1) ^ (0 &- (bits & 1)))
}

/// A zig-zag varlong (timestamp deltas).
@inline(__always)
func readRawVarlong(_ raw: UnsafeRawBufferPointer, _ position: inout Int, _ end: Int, context: StaticString) throws -> Int64 {
    let value = try readRawUnsignedVarint(raw, &position, end, maxBytes: 10, context: context)
    return Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
}

/// Built out of line so that error construction (string formatting) stays off the hot path.
@inline(never)
func truncatedField(_ context: StaticString, needed: Int, available: Int) -> KafkaProtocolError {
    KafkaProtocolError.truncated(context: "\(context)", needed: needed, available: available)
}

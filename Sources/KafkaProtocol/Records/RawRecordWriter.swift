import NIOCore

// Writers over raw memory for the record encoder: one capacity check per record
// instead of one per byte, as ByteBuffer's per-integer writes would do.

/// Writes `value` zig-zag encoded as a varint at `raw[position...]`; the caller reserved the room.
@inline(__always)
func writeRawVarlong(_ raw: UnsafeMutableRawBufferPointer, _ position: inout Int, _ value: Int64) {
    var bits = UInt64(bitPattern: (value << 1) ^ (value >> 63))
    while bits >= 0x80 {
        raw[position] = UInt8(truncatingIfNeeded: bits) | 0x80
        position += 1
        bits >>= 7
    }
    raw[position] = UInt8(truncatingIfNeeded: bits)
    position += 1
}

/// Writes a nullable byte field: varint length (-1 for null), then the bytes.
@inline(__always)
func writeRawBytes(_ raw: UnsafeMutableRawBufferPointer, _ position: inout Int, _ bytes: ByteBuffer?) {
    withOptionalReadableBytes(bytes) { writeRawBytes(raw, &position, $0) }
}

/// Writes a nullable byte field from raw memory: varint length (-1 for null), then the bytes.
@inline(__always)
func writeRawBytes(_ raw: UnsafeMutableRawBufferPointer, _ position: inout Int, _ bytes: UnsafeRawBufferPointer?) {
    guard let bytes else {
        writeRawVarlong(raw, &position, -1)
        return
    }
    writeRawVarlong(raw, &position, Int64(bytes.count))
    if let base = bytes.baseAddress, bytes.count > 0 {
        (raw.baseAddress! + position).copyMemory(from: base, byteCount: bytes.count)
    }
    position += bytes.count
}

/// Runs `body` with the readable bytes of `buffer`, or with `nil` when there is no buffer.
@inline(__always)
func withOptionalReadableBytes<Result>(_ buffer: ByteBuffer?, _ body: (UnsafeRawBufferPointer?) throws -> Result) rethrows -> Result {
    guard let buffer else { return try body(nil) }
    return try buffer.withUnsafeReadableBytes { try body($0) }
}

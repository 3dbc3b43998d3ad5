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
    guard let bytes else {
        writeRawVarlong(raw, &position, -1)
        return
    }
    writeRawVarlong(raw, &position, Int64(bytes.readableBytes))
    bytes.withUnsafeReadableBytes { source in
        guard let base = source.baseAddress, source.count > 0 else { return }
        (raw.baseAddress! + position).copyMemory(from: base, byteCount: source.count)
    }
    position += bytes.readableBytes
}

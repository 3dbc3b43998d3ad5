import CCRC32C
import NIOCore

/// CRC-32C (Castagnoli), the checksum of magic-2 record batches.
///
/// Backed by the C target `CCRC32C`: the SSE4.2 `crc32` instruction on CPUs that have
/// it (detected at run time), a slicing-by-8 table elsewhere. Checksums chain: pass a
/// previous result as `seed` to continue over more bytes.
public enum CRC32C {
    /// Which implementation to run; `.automatic` is what the codecs use.
    public enum Implementation: Sendable, CaseIterable {
        /// The fastest one this CPU supports.
        case automatic
        /// The SSE4.2 instruction (falls back to the table if the CPU lacks it; see `hardwareAvailable`).
        case hardware
        /// The portable slicing-by-8 table.
        case software
    }

    /// Whether this CPU has the instruction the hardware implementation needs.
    public static var hardwareAvailable: Bool { rivulet_crc32c_hardware_available() != 0 }

    /// The checksum of `bytes`, continuing from `seed` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0, implementation: Implementation = .automatic) -> UInt32 {
        switch implementation {
        case .automatic: return rivulet_crc32c(seed, bytes.baseAddress, bytes.count)
        case .hardware: return rivulet_crc32c_hardware(seed, bytes.baseAddress, bytes.count)
        case .software: return rivulet_crc32c_software(seed, bytes.baseAddress, bytes.count)
        }
    }

    /// The checksum of a byte collection such as `[UInt8]` or a string's UTF-8 view.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes, seed: UInt32 = 0) -> UInt32 where Bytes.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), seed: seed) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// The checksum of the readable bytes of `buffer`.
    public static func checksum(_ buffer: ByteBuffer, seed: UInt32 = 0) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0, seed: seed) }
    }

    /// The checksum of `length` bytes of `buffer` at absolute index `index` (as `getBytes(at:length:)` counts).
    /// - Throws: `KafkaProtocolError.truncated` when the range is not within the buffer's readable bytes.
    public static func checksum(_ buffer: ByteBuffer, at index: Int, length: Int, seed: UInt32 = 0) throws -> UInt32 {
        guard index >= buffer.readerIndex, length >= 0, let slice = buffer.getSlice(at: index, length: length) else {
            throw KafkaProtocolError.truncated(context: "CRC-32C range", needed: length, available: Swift.max(0, buffer.writerIndex - index))
        }
        return slice.withUnsafeReadableBytes { checksum($0, seed: seed) }
    }
}

import NIOCore

/// One offset kept in a small file of its own (the log start offset, the cleaner's first dirty
/// offset), replaced atomically so that a crash leaves either the old value or the new one.
struct OffsetCheckpointFile {
    let path: String

    /// The stored offset, or nil when the file is missing or torn.
    func read() -> Int64? {
        guard let file = try? POSIXFile(path: path, create: false),
              var bytes = try? file.read(at: 0, length: 8, allocator: ByteBufferAllocator()),
              let value = bytes.readInteger(as: Int64.self) else { return nil }
        return value
    }

    /// Writes to a temporary file, syncs it and renames it over the old one.
    func write(_ offset: Int64) throws {
        let temp = path + ".tmp"
        let file = try POSIXFile(path: temp, create: true)
        var bytes = ByteBuffer()
        bytes.writeInteger(offset)
        try file.truncate(to: 0)
        try file.write(bytes, at: 0)
        try file.sync()
        try POSIXFile.rename(temp, to: path)
    }
}

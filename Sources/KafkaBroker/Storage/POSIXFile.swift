#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Errors from the dev broker's file storage, naming the file and the failing call.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    /// Zero when the failure is not a system call's (bad contents rather than a failing file).
    public var errno: Int32

    public var description: String {
        errno == 0 ? "\(operation) \(path)" : "\(operation) \(path): \(String(cString: strerror(errno)))"
    }
}

/// A file opened for positional reads and writes. Positional I/O lets readers of a segment
/// share the descriptor with the appender without seeking.
final class POSIXFile: @unchecked Sendable {
    // @unchecked: the descriptor is immutable; pread/pwrite are safe to call concurrently, and
    // the owner (LogSegment) serialises writes.
    let path: String
    let descriptor: Int32

    init(path: String, create: Bool) throws {
        self.path = path
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw StorageError(path: path, operation: "open", errno: errno) }
        self.descriptor = fd
    }

    deinit { close(descriptor) }

    func size() throws -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw StorageError(path: path, operation: "fstat", errno: errno) }
        return Int(info.st_size)
    }

    /// Writes all readable bytes of `buffer` at `offset`.
    func write(_ buffer: ByteBuffer, at offset: Int) throws {
        try buffer.withUnsafeReadableBytes { raw in
            var written = 0
            while written < raw.count {
                let n = pwrite(descriptor, raw.baseAddress! + written, raw.count - written, off_t(offset + written))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StorageError(path: path, operation: "pwrite", errno: errno)
                }
                written += n
            }
        }
    }

    /// Reads up to `length` bytes at `offset`; fewer at the end of the file.
    func read(at offset: Int, length: Int, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: length)
        let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
            var total = 0
            while total < length {
                let n = pread(descriptor, raw.baseAddress! + total, length - total, off_t(offset + total))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StorageError(path: path, operation: "pread", errno: errno)
                }
                if n == 0 { break }
                total += n
            }
            return total
        }
        _ = count
        return buffer
    }

    func truncate(to size: Int) throws {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw StorageError(path: path, operation: "ftruncate", errno: errno) }
    }

    func sync() throws {
        guard fdatasync(descriptor) == 0 else { throw StorageError(path: path, operation: "fdatasync", errno: errno) }
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func makeDirectory(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw StorageError(path: current, operation: "mkdir", errno: errno)
            }
        }
    }

    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw StorageError(path: path, operation: "opendir", errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func removeDirectory(_ path: String) throws {
        for name in try listDirectory(path) {
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
                try removeDirectory(child)
            } else {
                unlink(child)
            }
        }
        rmdir(path)
    }

    /// Makes renames and unlinks in `path` durable.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(path: path, operation: "open directory", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StorageError(path: path, operation: "fsync directory", errno: errno) }
    }

    static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw StorageError(path: from, operation: "rename", errno: errno) }
    }
}

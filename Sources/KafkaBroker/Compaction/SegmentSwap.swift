import NIOCore

/// Swaps a compaction pass's `.cleaned` segments in for the segments they replace, so that a
/// crash at any point leaves either the old segments or the new ones, never a mix.
///
/// The commit point is a manifest listing, for each cleaned segment, the segments it replaces.
/// Once the manifest is durable, the swap is finished on start if the broker dies mid-way:
/// replaced segments are deleted and each cleaned file renamed over its live name, the log
/// file last. Without a manifest, leftover `.cleaned` files are an unfinished pass and deleted.
enum SegmentSwap {
    static let cleanedSuffix = ".cleaned"
    static let manifestName = "cleaner-swap"

    /// Makes the swap durable: after this returns, a restart completes it.
    static func commit(directory: String, groups: [CleanedLog.Group]) throws {
        let text = groups.map { group in ([group.baseOffset] + group.replaced.filter { $0 != group.baseOffset }).map(String.init).joined(separator: " ") }
            .joined(separator: "\n") + "\n"
        let path = directory + "/" + manifestName
        let temp = path + ".tmp"
        let file = try POSIXFile(path: temp, create: true)
        try file.truncate(to: 0)
        try file.write(ByteBuffer(string: text), at: 0)
        try file.sync()
        try POSIXFile.rename(temp, to: path)
        try POSIXFile.syncDirectory(directory)
    }

    /// Carries out the committed swap, if there is one; safe to repeat after a crash part-way.
    /// Returns the groups it applied.
    @discardableResult
    static func apply(directory: String) throws -> [CleanedLog.Group] {
        let path = directory + "/" + manifestName
        guard POSIXFile.exists(path) else { return [] }
        let groups = try readManifest(path)
        for group in groups {
            for base in group.replaced where base != group.baseOffset {
                for file in LogSegment.filePaths(directory: directory, baseOffset: base) { POSIXFile.remove(file) }
            }
            // rename(2) replaces the live file atomically; the log file goes last, so a cleaned
            // log is never paired with the old segment's indexes.
            for file in LogSegment.filePaths(directory: directory, baseOffset: group.baseOffset) {
                if POSIXFile.exists(file + cleanedSuffix) { try POSIXFile.rename(file + cleanedSuffix, to: file) }
            }
        }
        try POSIXFile.syncDirectory(directory)
        POSIXFile.remove(path)
        return groups
    }

    /// On start: finishes a committed swap, then deletes what an unfinished pass left behind.
    static func recover(directory: String) throws {
        try apply(directory: directory)
        for name in try POSIXFile.listDirectory(directory) where name.hasSuffix(cleanedSuffix) || name == manifestName + ".tmp" {
            POSIXFile.remove(directory + "/" + name)
        }
    }

    /// Deletes a pass's output that will not be swapped in.
    static func discard(directory: String, groups: [CleanedLog.Group]) {
        for group in groups {
            for file in LogSegment.filePaths(directory: directory, baseOffset: group.baseOffset, extra: cleanedSuffix) {
                POSIXFile.remove(file)
            }
        }
    }

    private static func readManifest(_ path: String) throws -> [CleanedLog.Group] {
        let file = try POSIXFile(path: path, create: false)
        var bytes = try file.read(at: 0, length: try file.size(), allocator: ByteBufferAllocator())
        let text = bytes.readString(length: bytes.readableBytes) ?? ""
        return try text.split(separator: "\n").map { line in
            let offsets = line.split(separator: " ").compactMap { Int64($0) }
            guard let base = offsets.first else {
                throw StorageError(path: path, operation: "parse cleaner swap manifest", errno: 0)
            }
            return CleanedLog.Group(baseOffset: base, replaced: offsets)
        }
    }
}

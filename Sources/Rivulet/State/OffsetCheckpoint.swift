import KafkaProtocol
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The file in a task's directory that records, per changelog partition, the offset from which
/// restoration must resume: everything before it is already in the local store, so a restart
/// replays only the tail.
///
/// The format is text, one entry per line after a version and a count:
/// ```
/// 0
/// 2
/// app-counts-changelog 3 1042
/// app-totals-changelog 3 17
/// ```
/// It is replaced atomically (written aside, then renamed), so a crash leaves the old file or the
/// new one, never half of one.
public struct OffsetCheckpoint: Sendable {
    public static let fileName = ".checkpoint"
    static let version = 0

    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The checkpoint of a task directory.
    public init(taskDirectory: String) {
        self.init(path: "\(taskDirectory)/\(Self.fileName)")
    }

    /// The offsets in the file; empty when there is no file.
    public func read() throws -> [TopicPartition: Int64] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.count >= 2, let version = Int(lines[0]), let count = Int(lines[1]) else {
            throw StateStoreError.checkpoint(path: path, reason: "missing version or count")
        }
        guard version == Self.version else {
            throw StateStoreError.checkpoint(path: path, reason: "unknown version \(version)")
        }
        guard lines.count - 2 == count else {
            throw StateStoreError.checkpoint(path: path, reason: "expected \(count) entries, found \(lines.count - 2)")
        }
        var offsets: [TopicPartition: Int64] = [:]
        for line in lines.dropFirst(2) {
            // Topic names cannot contain spaces, so the last two fields are unambiguous.
            let fields = line.split(separator: " ")
            guard fields.count == 3, let partition = Int32(fields[1]), let offset = Int64(fields[2]) else {
                throw StateStoreError.checkpoint(path: path, reason: "malformed entry \"\(line)\"")
            }
            offsets[TopicPartition(topic: String(fields[0]), partition: partition)] = offset
        }
        return offsets
    }

    /// Replaces the file with `offsets` (sorted, so equal contents give equal files).
    public func write(_ offsets: [TopicPartition: Int64]) throws {
        var text = "\(Self.version)\n\(offsets.count)\n"
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            text += "\(partition.topic) \(partition.partition) \(offset)\n"
        }
        do {
            let directory = DirectoryPath.parent(of: path)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw StateStoreError.checkpoint(path: path, reason: "\(error)")
        }
    }

    /// Removes the file (a task whose state can no longer be trusted starts from scratch).
    public func delete() throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw StateStoreError.checkpoint(path: path, reason: "\(error)")
        }
    }
}

/// Path arithmetic without Foundation's `NSString`.
enum DirectoryPath {
    /// Everything before the last slash (`.` when there is none).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

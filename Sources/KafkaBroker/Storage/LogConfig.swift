/// Per-topic log settings, under Kafka's topic config names so that CreateTopics and
/// DescribeConfigs speak the same language as a real cluster.
public struct LogConfig: Sendable, Equatable {
    public enum CleanupPolicy: String, Sendable {
        case delete
        case compact
        case compactAndDelete = "compact,delete"
    }

    public enum TimestampType: String, Sendable {
        case createTime = "CreateTime"
        case logAppendTime = "LogAppendTime"
    }

    /// `segment.bytes`: roll to a new segment past this size.
    public var segmentBytes = 1 << 30
    /// `segment.ms`: roll a segment this old even if not full.
    public var segmentMs: Int64 = 7 * 24 * 3_600_000
    /// `retention.ms`: delete segments whose newest record is older; -1 keeps forever.
    public var retentionMs: Int64 = 7 * 24 * 3_600_000
    /// `retention.bytes`: delete the oldest segments while the log is larger; -1 for no limit.
    public var retentionBytes: Int64 = -1
    /// `cleanup.policy`.
    public var cleanupPolicy = CleanupPolicy.delete
    /// `delete.retention.ms`: how long compaction keeps a tombstone (a record with a null
    /// value), counted from the tombstone's timestamp, so that consumers catching up can see it.
    public var deleteRetentionMs: Int64 = 24 * 3_600_000
    /// `min.cleanable.dirty.ratio`: compaction starts when the uncleaned share of the closed
    /// segments' bytes reaches this fraction.
    public var minCleanableDirtyRatio = 0.5
    /// `max.message.bytes`: the largest record batch accepted.
    public var maxMessageBytes = 1_048_588
    /// `message.timestamp.type`.
    public var timestampType = TimestampType.createTime
    /// `flush.messages`: fsync after this many batches (1 syncs every batch); `Int.max` leaves it to `flush.ms`.
    public var flushMessages = Int.max
    /// `flush.ms`: fsync at least this often.
    public var flushMs: Int64 = 1000
    /// `index.interval.bytes`: one sparse index entry per this many log bytes.
    public var indexIntervalBytes = 4096

    public init() {}

    /// The names this broker understands, with their current values as Kafka prints them.
    public var entries: [(name: String, value: String)] {
        [
            ("cleanup.policy", cleanupPolicy.rawValue),
            ("delete.retention.ms", String(deleteRetentionMs)),
            ("flush.messages", flushMessages == Int.max ? "9223372036854775807" : String(flushMessages)),
            ("flush.ms", String(flushMs)),
            ("index.interval.bytes", String(indexIntervalBytes)),
            ("max.message.bytes", String(maxMessageBytes)),
            ("message.timestamp.type", timestampType.rawValue),
            ("min.cleanable.dirty.ratio", String(minCleanableDirtyRatio)),
            ("retention.bytes", String(retentionBytes)),
            ("retention.ms", String(retentionMs)),
            ("segment.bytes", String(segmentBytes)),
            ("segment.ms", String(segmentMs)),
        ]
    }

    /// Applies `name = value`, refusing unknown names and malformed values with a reason.
    public mutating func set(_ name: String, _ value: String) throws(LogConfigError) {
        func int64() throws(LogConfigError) -> Int64 {
            guard let v = Int64(value) else { throw LogConfigError(name: name, value: value, reason: "not an integer") }
            return v
        }
        func positiveInt() throws(LogConfigError) -> Int {
            guard let v = Int(value), v > 0 else { throw LogConfigError(name: name, value: value, reason: "must be a positive integer") }
            return v
        }
        switch name {
        case "segment.bytes": segmentBytes = max(try positiveInt(), 1024)
        case "segment.ms": segmentMs = try int64()
        case "retention.ms": retentionMs = try int64()
        case "retention.bytes": retentionBytes = try int64()
        case "delete.retention.ms": deleteRetentionMs = try int64()
        case "max.message.bytes": maxMessageBytes = try positiveInt()
        case "flush.messages": flushMessages = Int(clamping: try int64())
        case "flush.ms": flushMs = try int64()
        case "index.interval.bytes": indexIntervalBytes = try positiveInt()
        case "min.cleanable.dirty.ratio":
            guard let ratio = Double(value), ratio >= 0, ratio <= 1 else {
                throw LogConfigError(name: name, value: value, reason: "must be a number between 0 and 1")
            }
            minCleanableDirtyRatio = ratio
        case "cleanup.policy":
            let normalized = value.split(separator: ",").map { $0.trimmingCharacters() }.sorted().joined(separator: ",")
            guard let policy = CleanupPolicy(rawValue: normalized) else {
                throw LogConfigError(name: name, value: value, reason: "expected delete, compact or compact,delete")
            }
            cleanupPolicy = policy
        case "message.timestamp.type":
            guard let type = TimestampType(rawValue: value) else {
                throw LogConfigError(name: name, value: value, reason: "expected CreateTime or LogAppendTime")
            }
            timestampType = type
        default:
            // Settings that only matter to a replicated cluster are accepted and ignored, as
            // Kafka clients and tools set them routinely.
            guard LogConfig.acceptedAndIgnored.contains(name) else {
                throw LogConfigError(name: name, value: value, reason: "unknown topic config")
            }
        }
    }

    static let acceptedAndIgnored: Set<String> = [
        "min.insync.replicas", "unclean.leader.election.enable", "compression.type", "min.compaction.lag.ms",
        "max.compaction.lag.ms", "preallocate", "file.delete.delay.ms",
        "segment.index.bytes", "segment.jitter.ms", "message.downconversion.enable", "follower.replication.throttled.replicas",
        "leader.replication.throttled.replicas", "message.timestamp.difference.max.ms", "message.timestamp.before.max.ms",
        "message.timestamp.after.max.ms", "local.retention.ms", "local.retention.bytes", "remote.storage.enable",
    ]
}

/// A topic config that cannot be applied.
public struct LogConfigError: Error, Sendable, CustomStringConvertible {
    public var name: String
    public var value: String
    public var reason: String
    public var description: String { "invalid value '\(value)' for \(name): \(reason)" }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

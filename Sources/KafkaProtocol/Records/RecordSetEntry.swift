import NIOCore

/// One unit of a record set: a magic-2 batch or a top-level legacy message.
public enum RecordSetEntry: Sendable {
    case batch(RecordBatch)
    case legacy(LegacyRecordBatch)

    public var magic: Int8 {
        switch self {
        case let .batch(batch): return batch.header.magic
        case let .legacy(legacy): return legacy.magic
        }
    }

    /// The first offset the entry covers.
    public var baseOffset: Int64 {
        switch self {
        case let .batch(batch): return batch.header.baseOffset
        case let .legacy(legacy): return legacy.baseOffset
        }
    }

    /// The last offset the entry covers (a compacted batch may have no record there).
    public var lastOffset: Int64 {
        switch self {
        case let .batch(batch): return batch.header.lastOffset
        case let .legacy(legacy): return legacy.lastOffset
        }
    }

    /// The size of the entry in the record set.
    public var totalSize: Int {
        switch self {
        case let .batch(batch): return batch.header.totalSize
        case let .legacy(legacy): return legacy.totalSize
        }
    }

    /// Calls `body` with each record in order.
    public func forEachRecord(_ body: (Record) throws -> Void) throws {
        switch self {
        case let .batch(batch): try batch.forEachRecord(body)
        case let .legacy(legacy): try legacy.records.forEach(body)
        }
    }

    /// All records, in order.
    public func records() throws -> [Record] {
        switch self {
        case let .batch(batch): return try batch.records()
        case let .legacy(legacy): return legacy.records
        }
    }
}

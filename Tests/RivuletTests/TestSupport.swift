import Foundation
import KafkaProtocol
import NIOCore
@testable import Rivulet

/// A directory removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rivulet-tests-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
func text(_ buffer: ByteBuffer?) -> String? { buffer.map { String(buffer: $0) } }

/// Entries of an iterator as text pairs.
func pairs(_ iterator: any KeyValueIterator) -> [String] {
    var result: [String] = []
    for entry in iterator { result.append("\(String(buffer: entry.key))=\(String(buffer: entry.value))") }
    return result
}

/// Captures changelog writes.
final class RecordingChangelogSink: ChangelogSink {
    struct Write: Equatable {
        var store: String
        var key: String
        var value: String?
        var timestamp: Int64
    }

    var writes: [Write] = []

    func logChange(store: String, key: ByteBuffer, value: ByteBuffer?, timestamp: Int64) throws {
        writes.append(Write(store: store, key: String(buffer: key), value: value.map { String(buffer: $0) }, timestamp: timestamp))
    }
}

import Synchronization

/// Collects values from `@Sendable` closures (peek, foreach) for assertions.
final class Captured<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])

    func append(_ element: Element) {
        storage.withLock { $0.append(element) }
    }

    var values: [Element] { storage.withLock { $0 } }
}

/// A record collector that drops what it is sent: for tasks whose outputs a test does not read.
final class DiscardingCollector: RecordCollector {
    var offsets: [TopicPartition: Int64] { [:] }
    func send(topic: String, partition: Int32?, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) throws {}
    func partitionCount(of topic: String) -> Int32? { nil }
    func flush() throws {}
}

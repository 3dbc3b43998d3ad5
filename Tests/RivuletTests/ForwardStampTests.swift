import KafkaProtocol
import NIOCore
@testable import Rivulet
import Testing

/// While a forwarded record is being processed downstream, the task's record context carries
/// its timestamp and headers (stores and caches stamp writes with them); afterwards the previous
/// ones come back. Records without headers take a shorter path that must behave the same.
@Suite struct ForwardStampTests {
    private static let header = [RecordHeader(key: "h", value: ByteBuffer(string: "1"))]
    private static let other = [RecordHeader(key: "other", value: nil)]

    @Test(arguments: [
        // (headers of the record being processed, headers of the forwarded record)
        ([RecordHeader](), [RecordHeader]()),
        ([], header),
        (header, []),
        (header, other),
    ])
    func childrenSeeTheForwardedStampAndTheOldOneComesBack(current: [RecordHeader], forwarded: [RecordHeader]) throws {
        let task = TaskContext(
            taskId: TaskId(subtopology: 0, partition: 0),
            config: StreamsConfig(applicationId: "stamp", bootstrapServers: "127.0.0.1:9092"),
            collector: DiscardingCollector(), wallClockTime: 0)
        task.recordContext = RecordContext(metadata: nil, timestamp: 10, headers: current)
        let context = ProcessorContext<String, String>(task: task, nodeName: "node", connectedStores: [])
        var seen: [(Int64, [RecordHeader])] = []
        context.addChild(RecordEntry { _ in seen.append((task.recordContext.timestamp, task.recordContext.headers)) }, name: "a")
        context.addChild(RecordEntry { _ in seen.append((task.recordContext.timestamp, task.recordContext.headers)) }, name: "b")

        try context.forward(StreamRecord(key: "k", value: "v", timestamp: 42, headers: forwarded))

        #expect(seen.map(\.0) == [42, 42])
        #expect(seen.map(\.1) == [forwarded, forwarded])
        #expect(task.recordContext.timestamp == 10)
        #expect(task.recordContext.headers == current)
    }
}

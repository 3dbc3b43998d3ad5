import Foundation
import Rivulet

/// Makes task ownership observable from outside: every time the application's state changes,
/// its state and the tasks its threads run are written to a JSON file (replaced atomically) and
/// logged to stderr.
public struct TaskReport: Sendable {
    /// The JSON file, or nil to log only.
    public let path: String?

    public init(path: String?) { self.path = path }

    public func write(_ streams: KafkaStreams, state: KafkaStreams.State) {
        let tasks = streams.localThreadsMetadata().flatMap(\.activeTasks).sorted().map(\.description)
        FileHandle.standardError.write(Data("[\(ProcessInfo.processInfo.processIdentifier)] state \(state.rawValue), tasks \(tasks)\n".utf8))
        guard let path else { return }
        let report: [String: Any] = ["pid": Int(ProcessInfo.processInfo.processIdentifier), "state": state.rawValue, "tasks": tasks]
        guard let data = try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]) else { return }
        try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

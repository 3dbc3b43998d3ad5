#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An instance's state directory, `<state.dir>/<application.id>`: one folder per task, named as
/// the task (`1_3`), holding its persistent stores and checkpoint.
struct StateDirectory: Sendable {
    let path: String

    init(config: StreamsConfig) {
        path = "\(config.stateDirectory)/\(config.applicationId)"
    }

    func create() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Removes the whole directory (nothing to remove is fine).
    func delete() throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        try FileManager.default.removeItem(atPath: path)
    }

    /// Tasks with a folder here: the assignor prefers to place them on this instance.
    func tasksOnDisk() -> Set<TaskId> {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        var tasks = Set<TaskId>()
        for name in names {
            let parts = name.split(separator: "_")
            guard parts.count == 2, let subtopology = Int(parts[0]), let partition = Int32(parts[1]),
                  subtopology >= 0, partition >= 0 else { continue }
            tasks.insert(TaskId(subtopology: subtopology, partition: partition))
        }
        return tasks
    }

    /// Removes a task's stores and checkpoint, so it restores from the changelog from scratch.
    func wipe(_ task: TaskId) {
        try? FileManager.default.removeItem(atPath: "\(path)/\(task)")
    }
}

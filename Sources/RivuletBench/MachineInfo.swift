import Foundation

/// What the figures were measured on.
struct MachineInfo {
    var cpuModel: String
    var cores: Int
    var system: String
    var date: String

    static func current() -> MachineInfo {
        var model = "unknown CPU"
        if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return MachineInfo(cpuModel: model, cores: ProcessInfo.processInfo.activeProcessorCount,
                           system: ProcessInfo.processInfo.operatingSystemVersionString, date: formatter.string(from: Date()))
    }

    var markdown: String {
        """
        ## Machine

        - CPU: \(self.cpuModel), \(self.cores) cores available (every benchmark runs on one)
        - System: \(self.system)
        - Measured: \(self.date)
        """
    }
}

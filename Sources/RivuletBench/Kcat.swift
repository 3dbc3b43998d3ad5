import Foundation

/// kcat, librdkafka's C console client: the peer with no Python in between for the producer
/// and consumer benchmarks.
enum Kcat {
    /// The librdkafka version kcat was built with (nil if its banner does not name one);
    /// throws when kcat does not run.
    static func librdkafkaVersion() throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["kcat", "-V"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchmarkError("kcat is not installed") }
        // "... librdkafka 2.0.2 builtin.features=..." → "2.0.2".
        guard let range = text.range(of: "librdkafka ") else { return nil }
        return String(text[range.upperBound...].prefix { !$0.isWhitespace && $0 != ")" })
    }

    /// Runs kcat with `arguments`, its output discarded, and returns how many seconds it ran;
    /// throws with the end of what it wrote to stderr when it fails.
    static func timedRun(_ arguments: [String]) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["kcat"] + arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        let start = ContinuousClock.now
        try process.run()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - start
        guard process.terminationStatus == 0 else { throw BenchmarkError("kcat failed: \(errorText.suffix(300))") }
        return elapsed.inSeconds
    }
}

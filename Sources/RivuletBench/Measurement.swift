import Foundation

/// Times an operation: repeats it until `minimumTime` has passed, three rounds, and
/// keeps the fastest round (the least disturbed by the rest of the machine).
enum Measurement {
    /// Seconds per call of `operation`.
    static func secondsPerCall(minimumTime: Double, _ operation: () throws -> Void) rethrows -> Double {
        // Warm up caches, lazy tables and the allocator.
        for _ in 0..<3 { try operation() }
        var best = Double.infinity
        for _ in 0..<3 {
            var calls = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            repeat {
                try operation()
                calls += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            } while elapsed < minimumTime / 3
            best = min(best, elapsed / Double(calls))
        }
        return best
    }
}

extension Duration {
    /// The duration in seconds, as the tables give it.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Number formatting for the tables.
enum Format {
    static func rate(_ value: Double) -> String {
        switch value {
        case 1e9...: return String(format: "%.2f G", value / 1e9)
        case 1e6...: return String(format: "%.2f M", value / 1e6)
        case 1e3...: return String(format: "%.1f k", value / 1e3)
        default: return String(format: "%.0f", value)
        }
    }

    static func fixed(_ value: Double, _ digits: Int = 2) -> String {
        String(format: "%.\(digits)f", value)
    }
}

/// Keeps a value alive so that the optimiser cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

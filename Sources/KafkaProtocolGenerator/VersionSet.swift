import Foundation

// Version ranges ("3+", "0-7", "5", "none") as sets of versions, and the Swift
// conditions that test membership.

/// A set of message versions, kept as sorted, disjoint, non-adjacent closed ranges.
struct VersionSet: Equatable, CustomStringConvertible {
    /// Stands for "and every later version" in "N+" ranges.
    static let open = Int(Int16.max)

    private(set) var ranges: [ClosedRange<Int>]

    static let none = VersionSet(ranges: [])

    init(ranges: [ClosedRange<Int>]) {
        self.ranges = VersionSet.normalise(ranges)
    }

    init(_ range: ClosedRange<Int>) {
        self.init(ranges: [range])
    }

    /// Parses the schema notation.
    init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "none" {
            self = .none
        } else if trimmed.hasSuffix("+"), let low = Int(trimmed.dropLast()) {
            self.init(low...VersionSet.open)
        } else if let dash = trimmed.firstIndex(of: "-"),
                  let low = Int(trimmed[..<dash]), let high = Int(trimmed[trimmed.index(after: dash)...]), low <= high {
            self.init(low...high)
        } else if let single = Int(trimmed) {
            self.init(single...single)
        } else {
            throw SchemaError("bad version range \"\(text)\"")
        }
    }

    var isEmpty: Bool { ranges.isEmpty }
    var lowest: Int? { ranges.first?.lowerBound }
    var highest: Int? { ranges.last?.upperBound }

    func contains(_ version: Int) -> Bool { ranges.contains { $0.contains(version) } }

    func union(_ other: VersionSet) -> VersionSet { VersionSet(ranges: ranges + other.ranges) }

    func intersection(_ other: VersionSet) -> VersionSet {
        var result: [ClosedRange<Int>] = []
        for a in ranges {
            for b in other.ranges where a.overlaps(b) {
                result.append(max(a.lowerBound, b.lowerBound)...min(a.upperBound, b.upperBound))
            }
        }
        return VersionSet(ranges: result)
    }

    func subtracting(_ other: VersionSet) -> VersionSet {
        var result = ranges
        for cut in other.ranges {
            result = result.flatMap { range -> [ClosedRange<Int>] in
                guard range.overlaps(cut) else { return [range] }
                var pieces: [ClosedRange<Int>] = []
                if range.lowerBound < cut.lowerBound { pieces.append(range.lowerBound...(cut.lowerBound - 1)) }
                if range.upperBound > cut.upperBound { pieces.append((cut.upperBound + 1)...range.upperBound) }
                return pieces
            }
        }
        return VersionSet(ranges: result)
    }

    func isSubset(of other: VersionSet) -> Bool { subtracting(other).isEmpty }

    var description: String {
        if ranges.isEmpty { return "none" }
        return ranges.map { r in
            if r.upperBound == VersionSet.open { return "\(r.lowerBound)+" }
            return r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound)-\(r.upperBound)"
        }.joined(separator: ",")
    }

    /// A Swift boolean expression over `variable` that is true exactly for the versions of
    /// `self` within `domain`. Versions outside `domain` never reach the generated code, so the
    /// bounds they would need are left out: the result is often `true` or `false`.
    func condition(within domain: VersionSet, variable: String = "version") -> String {
        let relevant = intersection(domain)
        if relevant.isEmpty { return "false" }
        if relevant == domain { return "true" }
        let low = domain.lowest!, high = domain.highest!
        let terms = relevant.ranges.map { range -> String in
            var parts: [String] = []
            if range.lowerBound == range.upperBound, range.lowerBound > low, range.upperBound < high {
                return "\(variable) == \(range.lowerBound)"
            }
            if range.lowerBound > low { parts.append("\(variable) >= \(range.lowerBound)") }
            if range.upperBound < high { parts.append("\(variable) <= \(range.upperBound)") }
            return parts.joined(separator: " && ")
        }
        if terms.count == 1 { return terms[0] }
        return terms.map { "(\($0))" }.joined(separator: " || ")
    }

    private static func normalise(_ ranges: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<Int>] = []
        for range in sorted {
            if let last = merged.last, range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }
}

/// A topic a topology reads or writes: a user's topic, or an internal one whose real name is
/// prefixed with the application id when the topology runs.
public enum TopicName: Sendable, Hashable, Comparable, CustomStringConvertible {
    case external(String)
    /// An internal topic by its name without the application id (`counts-repartition`).
    case `internal`(String)

    /// The name on the cluster.
    public func resolved(applicationId: String) -> String {
        switch self {
        case .external(let name): return name
        case .internal(let name): return "\(applicationId)-\(name)"
        }
    }

    /// As `describe()` prints it (internal topics without the prefix, as Kafka Streams prints them).
    public var description: String {
        switch self {
        case .external(let name), .internal(let name): return name
        }
    }

    public var isInternal: Bool {
        if case .internal = self { return true }
        return false
    }
}

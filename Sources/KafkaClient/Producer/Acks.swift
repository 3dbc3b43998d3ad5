/// How many replicas must have a batch before the broker acknowledges it (`acks`).
public enum Acks: Int16, Sendable, CaseIterable, CustomStringConvertible {
    /// The broker sends no response; a record counts as delivered once written to the socket.
    /// Offsets are unknown (-1) and lost records go unnoticed.
    case none = 0
    /// The leader has written the batch to its log.
    case leader = 1
    /// Every in-sync replica has the batch: the only setting that survives a leader failure,
    /// and the one idempotence requires.
    case all = -1

    public var description: String {
        switch self {
        case .none: return "0"
        case .leader: return "1"
        case .all: return "all"
        }
    }

    /// Parses `0`, `1`, `all` or `-1`, as Kafka configurations spell it.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "0": self = .none
        case "1": self = .leader
        case "all", "-1": self = .all
        default: return nil
        }
    }
}

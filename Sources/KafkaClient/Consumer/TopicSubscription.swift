/// What the application asked to read.
enum TopicSubscription {
    case none
    /// Group-managed: these topics.
    case topics(Set<String>)
    /// Group-managed: every non-internal topic whose whole name matches; `matched` is the
    /// current match, sent to the group as the subscription.
    case pattern(TopicPattern, matched: Set<String>)
    /// Partitions chosen by the application; no group membership.
    case manual

    var isGroupManaged: Bool {
        switch self {
        case .topics, .pattern: return true
        case .none, .manual: return false
        }
    }

    /// The topic names subscribed to now (empty for manual and none).
    var topics: Set<String> {
        switch self {
        case let .topics(topics): return topics
        case let .pattern(_, matched): return matched
        case .none, .manual: return []
        }
    }
}

/// A regular expression over topic names, matched against the whole name (as Java's `matches`).
struct TopicPattern: @unchecked Sendable {
    // Regex is not Sendable in every toolchain; this one is only read after creation.
    let source: String
    private let regex: Regex<AnyRegexOutput>

    init(_ source: String) throws {
        self.source = source
        do { regex = try Regex(source) } catch { throw KafkaConsumerError.invalidPattern(source) }
    }

    func matches(_ topic: String) -> Bool {
        (try? regex.wholeMatch(in: topic)) != nil
    }
}

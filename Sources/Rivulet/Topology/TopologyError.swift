/// Why a topology cannot be built as asked.
public enum TopologyError: Error, Sendable, Equatable, CustomStringConvertible {
    case duplicateNode(String)
    case unknownNode(String)
    case unknownStore(String)
    case duplicateStore(String)
    /// A topic is read by two sources.
    case topicAlreadyRead(topic: String, by: String)
    /// A node's parent forwards records the node does not take.
    case typeMismatch(parent: String, parentOutput: String, child: String, childInput: String)
    case sinkCannotHaveChildren(String)
    case noParents(String)
    case notAProcessor(String)
    /// The DSL needed a serde for a type and none was given or inferable.
    case missingSerde(operation: String, type: String)
    /// Topics that are joined have different partition counts.
    case copartitioning(topics: [String], partitionCounts: [String: Int32])
    /// A partition count could not be determined (a source topic's count was not given).
    case unknownPartitionCount(topic: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .duplicateNode(let name): return "a node named \(name) already exists"
        case .unknownNode(let name): return "no node named \(name)"
        case .unknownStore(let name): return "no store named \(name)"
        case .duplicateStore(let name): return "a store named \(name) already exists"
        case .topicAlreadyRead(let topic, let by): return "topic \(topic) is already read by \(by)"
        case .typeMismatch(let parent, let output, let child, let input):
            return "\(parent) forwards \(output) but its child \(child) takes \(input)"
        case .sinkCannotHaveChildren(let name): return "sink \(name) cannot have children"
        case .noParents(let name): return "\(name) needs at least one parent"
        case .notAProcessor(let name): return "\(name) is not a processor"
        case .missingSerde(let operation, let type):
            return "\(operation) needs a serde for \(type): pass one (Grouped, Materialized, Produced, Repartitioned) or use a Codable type"
        case .copartitioning(let topics, let counts):
            let detail = topics.map { "\($0): \(counts[$0].map(String.init) ?? "?")" }.joined(separator: ", ")
            return "topics joined together must have the same number of partitions (\(detail))"
        case .unknownPartitionCount(let topic): return "partition count of \(topic) is unknown"
        case .invalid(let reason): return reason
        }
    }
}

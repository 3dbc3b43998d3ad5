/// A printable account of a topology, in the layout of Kafka Streams' `TopologyDescription`:
///
/// ```
/// Topologies:
///    Sub-topology: 0
///     Source: KSTREAM-SOURCE-0000000000 (topics: [input])
///       --> KSTREAM-MAPVALUES-0000000001
///     Processor: KSTREAM-MAPVALUES-0000000001 (stores: [])
///       --> KSTREAM-SINK-0000000002
///       <-- KSTREAM-SOURCE-0000000000
///     Sink: KSTREAM-SINK-0000000002 (topic: output)
///       <-- KSTREAM-MAPVALUES-0000000001
/// ```
///
/// Internal topics appear without the application id. Within a sub-topology, nodes with more
/// nodes downstream of them come first (ties by name), so a chain reads from source to sink.
public struct TopologyDescription: Sendable, Equatable, CustomStringConvertible {
    public struct Node: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case source(topics: [String])
            case processor(stores: [String])
            case sink(topic: String)
        }

        public let name: String
        public let kind: Kind
        public let successors: [String]
        public let predecessors: [String]
    }

    public struct Subtopology: Sendable, Equatable {
        public let id: Int
        public let nodes: [Node]
    }

    public let subtopologies: [Subtopology]

    public var description: String {
        var text = "Topologies:\n"
        for subtopology in subtopologies {
            text += "   Sub-topology: \(subtopology.id)\n"
            for node in subtopology.nodes {
                switch node.kind {
                case .source(let topics):
                    text += "    Source: \(node.name) (topics: [\(topics.joined(separator: ", "))])\n"
                case .processor(let stores):
                    text += "    Processor: \(node.name) (stores: [\(stores.joined(separator: ", "))])\n"
                case .sink(let topic):
                    text += "    Sink: \(node.name) (topic: \(topic))\n"
                }
                if case .sink = node.kind {} else {
                    text += "      --> \(node.successors.isEmpty ? "none" : node.successors.joined(separator: ", "))\n"
                }
                if case .source = node.kind {} else {
                    text += "      <-- \(node.predecessors.isEmpty ? "none" : node.predecessors.joined(separator: ", "))\n"
                }
            }
            text += "\n"
        }
        return text
    }
}

extension Topology {
    /// What the topology looks like; `print(topology.describe())` shows it.
    public func describe() -> TopologyDescription {
        var children: [String: [String]] = [:]
        for node in nodes { for parent in node.parents { children[parent, default: []].append(node.name) } }
        var descendantCounts: [String: Int] = [:]
        func descendants(_ name: String) -> Set<String> {
            var seen: Set<String> = []
            var stack = children[name] ?? []
            while let next = stack.popLast() {
                if seen.insert(next).inserted { stack.append(contentsOf: children[next] ?? []) }
            }
            return seen
        }
        for node in nodes { descendantCounts[node.name] = descendants(node.name).count }

        return TopologyDescription(subtopologies: subtopologies.map { subtopology in
            let ordered = subtopology.nodeNames.sorted {
                let (a, b) = (descendantCounts[$0]!, descendantCounts[$1]!)
                return a != b ? a > b : $0 < $1
            }
            return TopologyDescription.Subtopology(id: subtopology.id, nodes: ordered.map { name in
                let node = self.node(named: name)!
                let kind: TopologyDescription.Node.Kind
                switch node.kind {
                case .source(let topics, _): kind = .source(topics: topics.map(\.description))
                case .processor: kind = .processor(stores: node.stores)
                case .sink(let topic): kind = .sink(topic: topic.description)
                }
                return TopologyDescription.Node(
                    name: name, kind: kind,
                    successors: (children[name] ?? []).sorted(),
                    predecessors: node.parents.sorted()
                )
            })
        })
    }
}

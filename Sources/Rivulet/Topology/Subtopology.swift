/// A connected part of a topology: the unit a task instantiates, once per partition.
public struct Subtopology: Sendable, Equatable {
    public let id: Int
    /// Node names in the order tasks build them (the order they were added, parents first).
    public let nodeNames: [String]
    public let sourceTopics: [TopicName]
    public let sinkTopics: [TopicName]
    public let storeNames: [String]
}

extension Topology {
    /// The sub-topologies: nodes joined by parent/child edges, or by sharing a store, belong
    /// together. Numbered in the order of their first node.
    public var subtopologies: [Subtopology] {
        var parent = Array(nodes.indices)
        func find(_ i: Int) -> Int {
            var i = i
            while parent[i] != i {
                parent[i] = parent[parent[i]]
                i = parent[i]
            }
            return i
        }
        func union(_ a: Int, _ b: Int) {
            let (ra, rb) = (find(a), find(b))
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        var index: [String: Int] = [:]
        for (i, node) in nodes.enumerated() { index[node.name] = i }
        var storeOwner: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            for parentName in node.parents { if let p = index[parentName] { union(i, p) } }
            for store in node.stores {
                if let owner = storeOwner[store] { union(i, owner) } else { storeOwner[store] = i }
            }
        }
        var groups: [Int: [Int]] = [:]
        var roots: [Int] = []
        for i in nodes.indices {
            let root = find(i)
            if groups[root] == nil { roots.append(root) }
            groups[root, default: []].append(i)
        }
        return roots.enumerated().map { id, root in
            let members = groups[root]!.map { nodes[$0] }
            var storeNames: [String] = []
            for node in members { for store in node.stores where !storeNames.contains(store) { storeNames.append(store) } }
            return Subtopology(
                id: id,
                nodeNames: members.map(\.name),
                sourceTopics: members.flatMap(\.sourceTopics),
                sinkTopics: members.compactMap { node -> TopicName? in
                    if case .sink(let topic) = node.kind { return topic }
                    return nil
                },
                storeNames: storeNames
            )
        }
    }

    /// The sub-topology that reads `topic`.
    func subtopology(reading topic: TopicName) -> Subtopology? {
        subtopologies.first { $0.sourceTopics.contains(topic) }
    }
}

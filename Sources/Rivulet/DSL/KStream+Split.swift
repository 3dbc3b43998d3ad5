extension KStream {
    /// Starts splitting the stream into named branches (Kafka's `split().branch(...).defaultBranch()`):
    /// each record goes to the first branch whose predicate it satisfies. Branch names are
    /// `prefix` followed by the branch's name, or its position (from 1) when unnamed.
    public func split(named prefix: String? = nil) -> BranchedKStream<Key, Value> {
        let name = builder.newName("KSTREAM-BRANCH-")
        builder.addProcessor(name, parents: [nodeName]) { BranchProcessor<Key, Value>(branches: [], defaultChild: nil) }
        return BranchedKStream(stream: self, splitNode: name, prefix: prefix ?? name)
    }
}

/// A stream being split into branches; finish with ``defaultBranch(named:)`` or ``noDefaultBranch()``.
public final class BranchedKStream<Key, Value> {
    private let stream: KStream<Key, Value>
    private let splitNode: String
    private let prefix: String
    private var predicates: [(child: String, predicate: @Sendable (Key, Value) throws -> Bool)] = []
    private var branches: [String: KStream<Key, Value>] = [:]
    private var position = 0

    init(stream: KStream<Key, Value>, splitNode: String, prefix: String) {
        self.stream = stream
        self.splitNode = splitNode
        self.prefix = prefix
    }

    /// Adds a branch for the records that satisfy `predicate` and none before it.
    @discardableResult
    public func branch(named: String? = nil, _ predicate: @escaping @Sendable (Key, Value) throws -> Bool) -> BranchedKStream {
        let child = addChild(named)
        predicates.append((child, predicate))
        update(defaultChild: nil)
        return self
    }

    /// Adds a branch for the records no predicate took, and returns all branches by name.
    public func defaultBranch(named: String? = nil) -> [String: KStream<Key, Value>] {
        let child = addChild(named)
        update(defaultChild: child)
        return branches
    }

    /// Returns all branches by name; records no predicate took are dropped.
    public func noDefaultBranch() -> [String: KStream<Key, Value>] {
        branches
    }

    private func addChild(_ name: String?) -> String {
        position += 1
        let child = prefix + (name ?? String(position))
        let builder = stream.builder
        builder.addProcessor(child, parents: [splitNode]) {
            ClosureProcessor<Key, Value, Key, Value> { record, context in try context.forward(record) }
        }
        branches[child] = KStream(
            builder: builder, nodeName: child, keySerde: stream.keySerde, valueSerde: stream.valueSerde,
            repartitionRequired: stream.repartitionRequired, sourceNodes: stream.sourceNodes
        )
        return child
    }

    /// The split node's processor knows its branches only once they are added.
    private func update(defaultChild: String?) {
        let predicates = self.predicates
        stream.builder.topology.replaceProcessor(splitNode) {
            BranchProcessor<Key, Value>(branches: predicates, defaultChild: defaultChild)
        }
    }
}

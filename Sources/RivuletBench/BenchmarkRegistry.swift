/// One benchmark group: a named set of measurements rendered as one markdown section.
/// Producer, consumer, broker and streams benchmarks join by adding a file with a
/// type conforming to this and listing it in `BenchmarkRegistry.groups`.
protocol BenchmarkGroup: Sendable {
    /// The identifier for `--only` and the section markers.
    var name: String { get }
    var title: String { get }
    /// Runs the measurements and returns the section's markdown (starting with a `##` heading).
    func run(_ context: BenchmarkContext) throws -> String
}

/// Settings shared by every group.
struct BenchmarkContext {
    /// Each measurement repeats its operation for at least this long.
    var minimumTime: Double
}

enum BenchmarkRegistry {
    static let groups: [any BenchmarkGroup] = [
        CRC32CBenchmarks(),
        RecordBatchBenchmarks(),
        ProducerBenchmarks(),
        ConsumerBenchmarks(),
        ExactlyOnceBenchmarks(),
    ]
}

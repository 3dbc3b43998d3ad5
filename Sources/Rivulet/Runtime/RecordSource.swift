/// Where a task executor gets input records: the Kafka runtime polls a consumer; the test
/// driver hands over what tests pipe in and what the topology wrote to its repartition topics.
public protocol RecordSource: AnyObject {
    /// The records available now, in order within each partition; empty when there are none.
    func poll() throws -> [RawRecord]
}

/// A node of a topology: receives records one at a time and forwards any number of records
/// through its context (Kafka Streams' processor API `Processor<KIn, VIn, KOut, VOut>`).
///
/// A topology holds a supplier, not a processor: every task creates its own instances, so a
/// processor may keep per-task state in properties without locks. A task calls
/// ``initialize(context:)`` once (Kafka's `init`), then ``process(_:)`` per record, then
/// ``close()``; always from one thread at a time.
public protocol Processor<KeyIn, ValueIn, KeyOut, ValueOut>: AnyObject, SendableMetatype {
    associatedtype KeyIn
    associatedtype ValueIn
    /// The key type of forwarded records; `Never` for a processor that forwards nothing.
    associatedtype KeyOut
    /// The value type of forwarded records; `Never` for a processor that forwards nothing.
    associatedtype ValueOut

    /// Called once before the first record: keep the context, look up stores, schedule punctuators.
    func initialize(context: ProcessorContext<KeyOut, ValueOut>) throws
    /// Called for every record; errors fail the task.
    func process(_ record: StreamRecord<KeyIn, ValueIn>) throws
    /// Called once when the task closes; stores are still open.
    func close() throws
}

extension Processor {
    public func initialize(context: ProcessorContext<KeyOut, ValueOut>) throws {}
    public func close() throws {}
}

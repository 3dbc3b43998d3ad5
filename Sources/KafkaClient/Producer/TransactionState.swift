/// Where a transactional producer is in its life; each call is allowed only in some states and
/// is refused with `KafkaProducerError.invalidTransactionState` in the others.
///
/// ```
/// uninitialized --initTransactions--> ready --beginTransaction--> inTransaction
/// inTransaction --commitTransaction--> committing --> ready
/// inTransaction / abortableError --abortTransaction--> aborting --> ready
/// inTransaction --failed record or offset commit--> abortableError
/// any --fenced / not authorized--> fatalError
/// ```
public enum TransactionState: String, Sendable, Hashable, CustomStringConvertible {
    /// `initTransactions()` has not completed.
    case uninitialized
    /// Initialized, no transaction open.
    case ready
    /// Between `beginTransaction()` and commit or abort: records may be sent.
    case inTransaction
    /// `commitTransaction()` is flushing and ending the transaction; calling it again resumes it.
    case committing
    /// `abortTransaction()` is dropping unsent records and ending the transaction.
    case aborting
    /// Something in the transaction failed: only `abortTransaction()` is allowed.
    case abortableError
    /// Fenced or not authorized: the producer writes nothing more and must be closed.
    case fatalError

    public var description: String { rawValue }
}

/// Which clock drives a punctuator.
public enum PunctuationType: Sendable, Hashable {
    /// Stream time: the largest timestamp the task has processed. Advances only with data, so a
    /// punctuator on stream time never fires for an idle partition, and fires at most once per
    /// record however far the record moves stream time.
    case streamTime
    /// The system clock (the test driver's mock clock), checked whenever the task runs.
    case wallClockTime
}

/// A handle on something scheduled; `cancel()` stops it.
public protocol Cancellable: AnyObject {
    func cancel()
}

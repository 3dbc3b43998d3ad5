/// The `bufferMemory` bound: bytes of records accepted and not yet completed, with the callers
/// of `send` waiting for room in arrival order.
///
/// A value type kept under the accumulator's lock; granting room to waiters returns their
/// continuations so the caller resumes them after releasing the lock.
struct BufferMemory {
    /// The outcome of waiting for room.
    enum Grant: Sendable {
        /// The bytes are reserved for the waiter.
        case granted
        case timedOut
        case cancelled
        case closed
    }

    struct Waiter {
        var id: UInt64
        var bytes: Int
        var continuation: UnsafeContinuation<Grant, Never>
    }

    let limit: Int
    private(set) var used = 0
    private var waiters: [Waiter] = []
    private var waitersHead = 0
    private var nextWaiterId: UInt64 = 0

    init(limit: Int) {
        self.limit = limit
    }

    var hasWaiters: Bool { waitersHead < waiters.count }

    /// Reserves `bytes` if they fit and nobody is waiting ahead; a record larger than the whole
    /// buffer fits only into an empty one (the caller refuses records larger than `limit`).
    mutating func tryReserve(_ bytes: Int) -> Bool {
        guard !hasWaiters, used == 0 || used + bytes <= limit else { return false }
        used += bytes
        return true
    }

    /// Queues a waiter; `grantWaiters` or `removeWaiter` resumes it.
    mutating func enqueue(bytes: Int, continuation: UnsafeContinuation<Grant, Never>) -> UInt64 {
        nextWaiterId += 1
        waiters.append(Waiter(id: nextWaiterId, bytes: bytes, continuation: continuation))
        return nextWaiterId
    }

    /// Gives back bytes of completed batches, or of a grant that went unused.
    mutating func release(_ bytes: Int) {
        used -= bytes
        assert(used >= 0, "buffer memory released more than reserved")
    }

    /// Reserves room for waiters in order while it lasts; returns whom to resume with `.granted`.
    mutating func grantWaiters() -> [UnsafeContinuation<Grant, Never>] {
        var granted: [UnsafeContinuation<Grant, Never>] = []
        while waitersHead < waiters.count {
            let waiter = waiters[waitersHead]
            guard used == 0 || used + waiter.bytes <= limit else { break }
            used += waiter.bytes
            granted.append(waiter.continuation)
            waitersHead += 1
        }
        compact()
        return granted
    }

    /// Takes a waiter out of line (timed out or cancelled); nil when it was already granted.
    mutating func removeWaiter(id: UInt64) -> UnsafeContinuation<Grant, Never>? {
        guard let index = waiters[waitersHead...].firstIndex(where: { $0.id == id }) else { return nil }
        let waiter = waiters.remove(at: index)
        compact()
        return waiter.continuation
    }

    /// Takes every waiter out of line (the producer is closing).
    mutating func removeAllWaiters() -> [UnsafeContinuation<Grant, Never>] {
        let all = waiters[waitersHead...].map(\.continuation)
        waiters.removeAll()
        waitersHead = 0
        return all
    }

    private mutating func compact() {
        if waitersHead == waiters.count {
            waiters.removeAll(keepingCapacity: true)
            waitersHead = 0
        } else if waitersHead > 64 && waitersHead * 2 > waiters.count {
            waiters.removeFirst(waitersHead)
            waitersHead = 0
        }
    }
}

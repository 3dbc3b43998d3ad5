import NIOCore
import Synchronization

/// Wakes the sender loop: when a batch starts or fills, a response arrives, a connection opens,
/// or a deadline (linger, backoff, delivery timeout) passes.
///
/// A signal sent while the sender is busy is remembered, so none is lost between its deciding
/// to wait and its waiting. Timeouts are scheduled on an event loop, the cheapest timer at hand.
final class SenderWakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: UnsafeContinuation<Void, Never>?
        var generation: UInt64 = 0
        var timer: Scheduled<Void>?
    }

    private let state = Mutex(State())
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Wakes the sender now, or makes its next wait return at once.
    func signal() {
        let (waiter, timer) = state.withLock { state -> (UnsafeContinuation<Void, Never>?, Scheduled<Void>?) in
            guard let waiter = state.waiter else {
                state.pending = true
                return (nil, nil)
            }
            state.waiter = nil
            defer { state.timer = nil }
            return (waiter, state.timer)
        }
        timer?.cancel()
        waiter?.resume()
    }

    /// Returns after a signal, or at `deadline` (never, when nil).
    func wait(until deadline: NIODeadline?) async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let generation = state.withLock { state -> UInt64? in
                if state.pending {
                    state.pending = false
                    return nil
                }
                state.generation &+= 1
                state.waiter = continuation
                return state.generation
            }
            guard let generation else {
                continuation.resume()
                return
            }
            guard let deadline else { return }
            let timer = eventLoop.scheduleTask(deadline: deadline) { [self] in
                self.expire(generation)
            }
            let stale = state.withLock { state -> Bool in
                guard state.generation == generation, state.waiter != nil else { return true }
                state.timer = timer
                return false
            }
            if stale { timer.cancel() }
        }
    }

    private func expire(_ generation: UInt64) {
        let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard state.generation == generation, let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.timer = nil
            return waiter
        }
        waiter?.resume()
    }
}

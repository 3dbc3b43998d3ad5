import Synchronization

/// Wakes long-polling fetches when any partition receives data or a transaction ends.
///
/// Waiters re-check their own partitions when woken, so one broker-wide signal is enough
/// for a single-node broker and keeps appends free of per-partition bookkeeping.
final class AppendSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextId: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A token to pass to `wait(after:timeout:)`, taken before checking for data, so an append
    /// between the check and the wait is not missed.
    var generation: UInt64 { state.withLock { $0.generation } }

    func notifyAll() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            let all = Array(state.waiters.values)
            state.waiters.removeAll()
            return all
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when notified after `generation`, when `timeout` passes, or on cancellation.
    func wait(after generation: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForNotification(after: generation) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForNotification(after generation: UInt64) async {
        let id = state.withLock { state -> UInt64 in
            state.nextId += 1
            return state.nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != generation || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

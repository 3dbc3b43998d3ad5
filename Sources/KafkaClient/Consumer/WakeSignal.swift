import Synchronization

/// Lets tasks sleep until something changes or a deadline passes.
///
/// `signal()` wakes every waiter; with nobody waiting it is remembered, so the next `wait`
/// returns at once and a change between a caller's check and its wait is never lost. Waiters
/// recheck their condition after waking: a wake-up means "look again", not "it is ready".
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var nextId = 0
        /// Ids of `wait` calls in progress.
        var active: Set<Int> = []
        /// Ids whose timeout or cancellation came before their continuation was stored.
        var expired: Set<Int> = []
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    func signal() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.waiters.isEmpty else {
                state.pending = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns on `signal()`, after `timeout` (when given), or when the task is cancelled.
    func wait(timeout: Duration? = nil) async {
        let id = state.withLock { state -> Int in
            state.nextId += 1
            state.active.insert(state.nextId)
            return state.nextId
        }
        let timer: Task<Void, Never>? = timeout.map { timeout in
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.resume(id)
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || state.expired.contains(id) || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.resume(id)
        }
        timer?.cancel()
        state.withLock { state in
            state.active.remove(id)
            state.expired.remove(id)
        }
    }

    private func resume(_ id: Int) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
            if state.active.contains(id) { state.expired.insert(id) }
            return nil
        }
        continuation?.resume()
    }
}

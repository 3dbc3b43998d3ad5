#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A serial executor with an operating-system thread of its own, for actors that run user code.
///
/// A stream thread runs the application's processors, and those may block: a synchronous call
/// to another service, a sleep, a long computation. On Swift's cooperative pool (one thread per
/// core) a blocked processor would stall every other task of the process, timers and network
/// completions included, so `close(timeout:)` could not even time out. Kafka Streams gives each
/// stream thread a thread too; `num.stream.threads` then means what it says.
///
/// The thread ends once ``shutdown()`` was called and the jobs already queued have run.
final class DedicatedThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let queue: JobQueue

    /// Starts the thread. `name` shows in debuggers where the platform names threads.
    init(name: String) {
        queue = JobQueue()
        // The thread holds the executor (its jobs run "on" it) until the queue is closed and drained.
        let argument = Unmanaged.passRetained(ThreadStart(name: name, executor: self)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            #if os(Linux)
            Unmanaged<ThreadStart>.fromOpaque(argument!).takeRetainedValue().run()
            #else
            Unmanaged<ThreadStart>.fromOpaque(argument).takeRetainedValue().run()
            #endif
            return nil
        }, argument)
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        queue.push(UnownedJob(job))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread end after the jobs queued so far.
    func shutdown() {
        queue.close()
    }

    private func runJobs() {
        let unowned = asUnownedSerialExecutor()
        var batch: [UnownedJob] = []
        while queue.take(into: &batch) {
            for job in batch { job.runSynchronously(on: unowned) }
            batch.removeAll(keepingCapacity: true)
        }
    }

    private final class ThreadStart {
        let name: String
        let executor: DedicatedThreadExecutor
        init(name: String, executor: DedicatedThreadExecutor) {
            self.name = name
            self.executor = executor
        }
        func run() {
            // Glibc's module map hides pthread_setname_np (a GNU extension); Darwin names threads.
            #if canImport(Darwin)
            _ = pthread_setname_np(name)
            #endif
            executor.runJobs()
        }
    }

    /// Jobs waiting for the thread; a mutex and a condition variable, since the thread sleeps
    /// in between.
    private final class JobQueue: @unchecked Sendable {
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        private var jobs: [UnownedJob] = []
        private var closed = false

        init() {
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(condition, nil)
        }

        deinit {
            pthread_cond_destroy(condition)
            pthread_mutex_destroy(mutex)
            condition.deallocate()
            mutex.deallocate()
        }

        func push(_ job: UnownedJob) {
            pthread_mutex_lock(mutex)
            jobs.append(job)
            pthread_mutex_unlock(mutex)
            pthread_cond_signal(condition)
        }

        func close() {
            pthread_mutex_lock(mutex)
            closed = true
            pthread_mutex_unlock(mutex)
            pthread_cond_signal(condition)
        }

        /// Waits for jobs and moves them into `batch` (empty on entry); false once closed and drained.
        func take(into batch: inout [UnownedJob]) -> Bool {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            while jobs.isEmpty && !closed {
                pthread_cond_wait(condition, mutex)
            }
            guard !jobs.isEmpty else { return false }
            swap(&batch, &jobs)
            return true
        }
    }
}

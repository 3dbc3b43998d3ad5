import Foundation
@testable import Rivulet
import Synchronization
import Testing

/// The executor stream threads run on: one OS thread of its own, jobs in order, ended when its
/// owner goes.
@Suite struct DedicatedThreadExecutorTests {
    /// An actor on a dedicated thread that records, per call, the thread it ran on and whether
    /// another call was running at the same time.
    actor Recorder {
        let executor: DedicatedThreadExecutor
        private(set) var threads: Set<UInt> = []
        /// The kernel's id of the thread of the last call (a `/proc/self/task` entry while it lives).
        private(set) var threadId: Int32 = 0
        private(set) var order: [Int] = []
        private var running = false
        private(set) var overlapped = false

        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

        init(executor: DedicatedThreadExecutor) {
            self.executor = executor
        }

        deinit {
            executor.shutdown()
        }

        func record(_ value: Int) {
            if running { overlapped = true }
            running = true
            threads.insert(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self()))!)))
            order.append(value)
            threadId = Self.kernelThreadId()
            usleep(10)
            running = false
        }

        /// `/proc/thread-self` links to `<pid>/task/<tid>`.
        static func kernelThreadId() -> Int32 {
            let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
            return Int32(link.split(separator: "/").last ?? "") ?? -1
        }

        /// Suspends (hopping to the global executor and back) between two records.
        func recordAroundASuspension(_ value: Int) async {
            record(value)
            await Task.detached { usleep(100) }.value
            record(-value)
        }
    }

    private static func threadExists(_ id: Int32) -> Bool {
        FileManager.default.fileExists(atPath: "/proc/self/task/\(id)")
    }

    @Test func jobsRunOneAtATimeOnOneThreadOfTheirOwn() async throws {
        let recorder = Recorder(executor: DedicatedThreadExecutor(name: "test-executor"))
        await withTaskGroup(of: Void.self) { group in
            for value in 1...200 {
                group.addTask { await recorder.recordAroundASuspension(value) }
            }
        }
        let callerThread = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self()))!))
        let threads = await recorder.threads
        #expect(threads.count == 1)
        #expect(!threads.contains(callerThread))
        #expect(await recorder.overlapped == false)
        let order = await recorder.order
        #expect(order.count == 400)
        // Every call's second record comes after its first.
        for value in 1...200 {
            let first = try #require(order.firstIndex(of: value))
            let second = try #require(order.firstIndex(of: -value))
            #expect(first < second)
        }
    }

    /// Calls from one task reach the actor in the order they were made (a FIFO queue).
    @Test func callsFromOneTaskRunInOrder() async {
        let recorder = Recorder(executor: DedicatedThreadExecutor(name: "test-executor"))
        for value in 1...500 { await recorder.record(value) }
        #expect(await recorder.order == Array(1...500))
    }

    /// The thread ends once its owner is gone, after the jobs it had queued.
    @Test func theThreadEndsWithItsOwner() async throws {
        var recorder: Recorder? = Recorder(executor: DedicatedThreadExecutor(name: "test-executor"))
        await recorder?.record(1)
        let thread = try #require(await recorder?.threadId)
        #expect(thread > 0 && Self.threadExists(thread))
        recorder = nil
        #expect(try await eventually { !Self.threadExists(thread) })
    }
}

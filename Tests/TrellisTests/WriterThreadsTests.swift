import Foundation
import Testing
@testable import Trellis

/// Every job gets a thread of its own: jobs that each wait for all the others all start (a
/// capped pool would deadlock here), and an idle thread is reused rather than a new one started.
@Test func writerThreadsGiveEachJobAThreadAndReuseIdleOnes() async throws {
    let pool = WriterThreads()
    let count = 12
    let started = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    for _ in 0..<count {
        pool.run {
            started.signal()
            release.wait()
            finished.signal()
        }
    }
    for _ in 0..<count { #expect(started.wait(timeout: .now() + 10) == .success) }
    for _ in 0..<count { release.signal() }
    for _ in 0..<count { #expect(finished.wait(timeout: .now() + 10) == .success) }

    // Parked threads (at most `maxIdle`) take the next jobs.
    let deadline = Date().addingTimeInterval(10)
    while pool.idleCount < WriterThreads.maxIdle, Date() < deadline { try await _Concurrency.Task.sleep(nanoseconds: 1_000_000) }
    #expect(pool.idleCount == WriterThreads.maxIdle)
    #expect(pool.threadsStarted == count)
    for _ in 0..<20 {
        let ran = DispatchSemaphore(value: 0)
        pool.run { ran.signal() }
        #expect(ran.wait(timeout: .now() + 10) == .success)
    }
    #expect(pool.threadsStarted == count, "one after another, jobs ran on parked threads")
}

import Foundation
import TrellisStorage

/// Threads for store work that may block for long (a write waiting for another process's lock,
/// for its write group or for an fsync), kept for reuse: starting a thread per write cost more
/// than the write itself when writes are not fsynced. Every job gets a thread of its own, so a
/// blocked writer never holds up another job (a dispatch queue's threads are capped near the
/// core count); a thread left idle for `idleSeconds` ends, and at most `maxIdle` wait.
final class WriterThreads: Sendable {
    static let shared = WriterThreads()
    static let maxIdle = 8
    static let idleSeconds = 10.0

    /// One thread and the job handed to it; it waits on `wake` between jobs.
    private final class Worker: Sendable {
        let wake = DispatchSemaphore(value: 0)
        let job = Locked<(@Sendable () -> Void)?>(nil)
    }

    private let idle = Locked<[Worker]>([])

    /// Threads waiting for a job, and threads started so far (tests).
    var idleCount: Int { idle.withLock { $0.count } }
    private let started = Locked(0)
    var threadsStarted: Int { started.withLock { $0 } }

    /// Runs `job` on an idle thread, or on a new one when none is idle.
    func run(_ job: @escaping @Sendable () -> Void) {
        if let worker = idle.withLock({ $0.popLast() }) {
            worker.job.withLock { $0 = job }
            worker.wake.signal()
            return
        }
        let worker = Worker()
        worker.job.withLock { $0 = job }
        started.withLock { $0 += 1 }
        let thread = Thread { [self] in serve(worker) }
        thread.name = "trellis write"
        thread.start()
    }

    private func serve(_ worker: Worker) {
        while true {
            if let job = worker.job.withLock({ j -> (@Sendable () -> Void)? in defer { j = nil }; return j }) { job() }
            // Back in the idle list, unless it is full; then wait for the next job or time out.
            let parked = idle.withLock { list -> Bool in
                guard list.count < Self.maxIdle else { return false }
                list.append(worker)
                return true
            }
            guard parked else { return }
            if worker.wake.wait(timeout: .now() + Self.idleSeconds) == .timedOut {
                // Leave, unless a job was handed over meanwhile (then `run` took it off the list).
                let left = idle.withLock { list -> Bool in
                    guard let i = list.firstIndex(where: { $0 === worker }) else { return false }
                    list.remove(at: i)
                    return true
                }
                if left { return }
                worker.wake.wait()  // the job's signal is on its way
            }
        }
    }
}

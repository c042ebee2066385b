#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrellisCore
import TrellisCrypto

// Group commit and durability: the leader of a write group, the write lock and fsyncs
// (docs/architecture.md §Group commit and durability).
extension StorageEngine {
    /// One caller's write batch, queued for the next group commit. The leader runs it and sets
    /// `error`; its submitter reads `error` once `GroupCommit.submit` returns.
    final class GroupJob {
        /// Dropped as soon as the job has run, so the caller's closure never outlives its call.
        var run: (@Sendable (inout Batch) throws(TrellisError) -> Void)?
        var error: TrellisError?
        init(_ run: @escaping @Sendable (inout Batch) throws(TrellisError) -> Void) { self.run = run }
    }

    /// Runs `body` as one all-or-nothing batch: under the write lock, after reading what other
    /// writers appended, it stages commits that are then appended as one frame per repository.
    /// Batches of concurrent callers are group-committed: one caller (the leader) runs every
    /// queued batch, appends their frames, and one fsync per log covers them all, so
    /// concurrent writers share an fsync. Each caller returns only once its frames are durable
    /// (in `full` mode). A batch that fails leaves no trace and does not affect the others.
    func writeBatch<T: Sendable>(_ body: @Sendable (inout Batch) throws(TrellisError) -> T) throws(TrellisError) -> T {
        let result = Locked<T?>(nil)
        var failure: TrellisError?
        withoutActuallyEscaping(body) { body in
            let job = GroupJob { (batch: inout Batch) throws(TrellisError) in
                let value = try body(&batch)
                result.withLock { $0 = value }
            }
            commitInGroup(job)
            failure = job.error
        }
        if let failure { throw failure }
        // safe: a job without an error ran to completion and set its result.
        return result.withLock { $0! }
    }

    /// Queues a job and returns once a group containing it has run (led by this thread or another).
    func commitInGroup(_ job: GroupJob) {
        refuseReentry("a write")
        group.submit(job) { jobs in runGroup(jobs) }
    }

    /// Runs the queued jobs as their group's leader. The store's write lock is awaited without
    /// `mutex`; the jobs run and append under it; the fsync and any seal run without it again,
    /// so that readers in this process wait only for the steps that change the index.
    func runGroup(_ jobs: [GroupJob]) {
        let lock: FileHandle
        do throws(TrellisError) {
            lock = try takeWriteLock()
        } catch {
            for job in jobs {
                job.error = error
                job.run = nil
            }
            return
        }
        defer { lock.unlock() }
        let written = writeJobs(jobs)
        do throws(TrellisError) {
            switch written.mode {
            case .full:
                if !written.logs.isEmpty { onLeaderStep?(.syncing) }
                for log in written.logs { try log.sync() }
                mutex.withLock { syncCount += written.logs.count }
            case .batched, .none:
                guard !written.touched.isEmpty else { break }
                mutex.withLock {
                    unsyncedLogs.formUnion(written.touched)
                    if written.mode == .batched { scheduleFlush() }
                }
            }
        } catch {
            for job in written.committed { job.error = error.adding(context: "the write may not be durable") }
            return
        }
        for name in written.touched.sorted() { maintainAfterWrite(name) }
        commitObservers.notify(written.touched)
    }

    /// The jobs' commits, staged and appended under `mutex` (not yet fsynced).
    func writeJobs(_ jobs: [GroupJob]) -> (touched: Set<String>, committed: [GroupJob], mode: Durability, logs: [FileHandle]) {
        leaderLocked { WriteReentry.marking(self) {
            var touched: Set<String> = []
            var committed: [GroupJob] = []
            for job in jobs {
                do throws(TrellisError) {
                    for index in repos.values { try catchUp(index) }
                    touched.formUnion(try runJob(job))
                    committed.append(job)
                } catch {
                    job.error = error
                }
                job.run = nil
            }
            let logs = touched.sorted().compactMap { repos[$0]?.log.handle }
            return (touched, committed, durabilityMode, logs)
        } }
    }

    /// Runs `body` under `mutex` as the group leader, which holds the store's write lock: only
    /// here may catching up cut a damaged log tail (readers never change the store).
    func leaderLocked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        mutex.lock()
        writeLockHeld = true
        defer {
            writeLockHeld = false
            mutex.unlock()
        }
        return try body()
    }

    /// `leaderLocked` in the shape that seal and repack take.
    func leaderStep(_ step: () throws(TrellisError) -> Void) throws(TrellisError) {
        try leaderLocked(step)
    }

    /// Runs `body` as the only writer of this process (the group leader) with the store's write
    /// lock, for maintenance that runs its long steps without `mutex` (repack).
    func asLeader<T>(_ body: () throws(TrellisError) -> T) throws(TrellisError) -> T {
        refuseReentry("a repack")
        return try group.exclusively { () throws(TrellisError) in
            let lock = try takeWriteLock()
            defer { lock.unlock() }
            try leaderLocked { () throws(TrellisError) in
                for index in repos.values { try catchUp(index) }
            }
            return try body()
        }
    }

    /// Stages one job's commits and appends its frames (not yet fsynced). On failure, the
    /// in-memory state is reloaded from disk and a repository the job created is removed.
    func runJob(_ job: GroupJob) throws(TrellisError) -> Set<String> {
        var batch = Batch()
        var appended: Set<String> = []
        do throws(TrellisError) {
            try job.run?(&batch)
            for (name, unsigned) in batch.staged.sorted(by: { $0.key < $1.key }) {
                guard let index = repos[name] else { continue }
                var commits = unsigned
                // Only commits that need an author's signature ask for the identity key.
                if commits.contains(where: { batch.toSign.contains($0.id) }) {
                    SignedCommit.signAll(&commits, with: try signingKey(), only: batch.toSign)
                }
                _ = try index.log.append(try Frame.encode(commits), sync: false)
                index.markWritten()
                appended.insert(name)
            }
            return appended
        } catch {
            for name in batch.created where !appended.contains(name) { removeEmptyRepository(name) }
            for name in batch.staged.keys where !batch.created.contains(name) || appended.contains(name) {
                try? reloadRepository(name)
            }
            throw error
        }
    }

    /// `batched` mode: logs written since the last flush are fsynced within `batchedFlushDelay`.
    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        DispatchQueue.global().asyncAfter(deadline: .now() + StorageEngine.batchedFlushDelay) { [weak self] in
            self?.flush()
        }
    }

    /// Fsyncs every log written since the last flush (`batched` and `none` modes); returns
    /// once they are durable. The fsyncs run without `mutex`, one flush at a time.
    package func flush() {
        flushing.withLock {
            let logs: [(String, FileHandle)] = mutex.withLock {
                flushScheduled = false
                defer { unsyncedLogs = [] }
                return unsyncedLogs.sorted().compactMap { name in repos[name].map { (name, $0.log.handle) } }
            }
            var failures: [String] = []
            for (name, log) in logs {
                do throws(TrellisError) { try log.sync() } catch { failures.append("repository '\(name)': \(error.message)") }
            }
            mutex.withLock {
                syncCount += logs.count - failures.count
                for failure in failures { warn(failure) }
            }
        }
    }

    /// Takes the store's write lock and returns the locked file. Only the group leader calls
    /// this, without `mutex`, so readers keep reading while it waits for another process.
    func takeWriteLock() throws(TrellisError) -> FileHandle {
        let lockFile: FileHandle
        if let open = self.lockFile {
            lockFile = open
        } else {
            lockFile = try FileHandle(path: path + "/lock", flags: O_RDWR | O_CREAT, mode: 0o644)
            self.lockFile = lockFile
        }
        let wait = mutex.withLock { lockWait }
        let deadline = Date().addingTimeInterval(wait)
        while !(try lockFile.lock(exclusive: true, wait: false)) {
            onLeaderStep?(.waitingForLock)
            guard Date() < deadline else {
                throw TrellisError(.storeLocked,
                    "the store at \(path) is locked by another writer; gave up after \(wait) seconds")
            }
            FileSystem.sleep(millis: 5)
        }
        if !leftoversRemoved {
            // What writes interrupted before this process started (a kill, a full disk).
            Leftovers.remove(Leftovers.find(inStore: path))
            leftoversRemoved = true
        }
        return lockFile
    }
}

import Foundation

/// Group commit's queue (docs/architecture.md §Group commit and durability): callers submit
/// jobs; the first to find no leader becomes the leader and runs every job queued so far as one
/// group, while the others wait until a group containing theirs has run. One leader at a time.
///
/// `@unchecked Sendable`: `queued`, `leaderActive` and `finished` are read and written only
/// while `condition` is held, and a job is handed from its submitter to the leader and back
/// under it too.
final class GroupCommit<Job: AnyObject>: @unchecked Sendable {
    private let condition = NSCondition()
    private var queued: [Job] = []
    private var leaderActive = false
    /// Jobs whose group has run, until their submitters see it.
    private var finished = Set<ObjectIdentifier>()

    /// Queues `job` and returns once a group containing it has run: `lead` runs a whole group,
    /// on this thread when it becomes the leader, on another's otherwise.
    func submit(_ job: Job, lead: ([Job]) -> Void) {
        condition.lock()
        defer { condition.unlock() }
        queued.append(job)
        let id = ObjectIdentifier(job)
        while !finished.contains(id) {
            if leaderActive {
                condition.wait()
                continue
            }
            leaderActive = true
            let jobs = queued
            queued = []
            condition.unlock()
            lead(jobs)
            condition.lock()
            // Published under the lock the submitters wait on, after the whole group has run.
            for j in jobs { finished.insert(ObjectIdentifier(j)) }
            leaderActive = false
            condition.broadcast()
        }
        finished.remove(id)
    }

    /// Runs `body` as the leader of no group: submitters queue up and wait until it returns.
    func exclusively<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        condition.lock()
        while leaderActive { condition.wait() }
        leaderActive = true
        condition.unlock()
        defer {
            condition.lock()
            leaderActive = false
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }
}

import TrellisCore
import TrellisCrypto

extension SignedCommit {
    /// Signs every commit of `commits` that has an author but no signature yet (of those in
    /// `only`, when given), spreading the Ed25519 work over the cores (it dominates the cost
    /// of a large batch).
    package static func signAll(_ commits: inout [SignedCommit], with key: SigningKey, only: Set<CommitID>? = nil) {
        let todo = commits.indices.filter {
            commits[$0].signature.isEmpty && commits[$0].commit.author != nil && only?.contains(commits[$0].id) ?? true
        }
        let unsigned = commits
        for (i, signed) in zip(todo, Parallel.map(todo) { unsigned[$0].signed(with: key) }) { commits[i] = signed }
    }
}

import TrellisCore
import TrellisCrypto

extension SignedCommit {
    /// Signs every commit of `commits` that has an author but no signature yet, spreading the
    /// Ed25519 work over the cores (it dominates the cost of a large batch).
    package static func signAll(_ commits: inout [SignedCommit], with key: SigningKey) {
        let todo = commits.indices.filter { commits[$0].signature.isEmpty && commits[$0].commit.author != nil }
        let unsigned = commits
        for (i, signed) in zip(todo, Parallel.map(todo) { unsigned[$0].signed(with: key) }) { commits[i] = signed }
    }
}

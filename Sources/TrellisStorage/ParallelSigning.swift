import Dispatch
import TrellisCore
import TrellisCrypto

extension SignedCommit {
    /// Signs every commit of `commits` that has an author but no signature yet, spreading the
    /// Ed25519 work over the cores (it dominates the cost of a large batch).
    public static func signAll(_ commits: inout [SignedCommit], with key: SigningKey) {
        let todo = commits.indices.filter { commits[$0].signature.isEmpty && commits[$0].commit.author != nil }
        guard !todo.isEmpty else { return }
        let ids = todo.map { commits[$0].id.bytes }
        var signatures = [[UInt8]](repeating: [], count: todo.count)
        let chunks = min(todo.count, 8)
        signatures.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                var i = chunk
                while i < ids.count {
                    out[i] = key.sign(ids[i])  // each index is written by exactly one chunk
                    i += chunks
                }
            }
        }
        for (n, i) in todo.enumerated() { commits[i] = SignedCommit(commit: commits[i].commit, id: commits[i].id,
                                                                   encoded: commits[i].encoded, signature: signatures[n]) }
    }
}

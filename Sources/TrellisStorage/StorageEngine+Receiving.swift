#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrellisCore
import TrellisCrypto

// Receive and verification: commits made elsewhere, checked before the write lock (ids and
// signatures, on every core for large batches) and under it (parents, merges by recomputation).
extension StorageEngine {
    /// Stores commits made elsewhere, all or nothing. Each is re-hashed and its signature checked
    /// unless a later commit of the batch by its author covers it (then it is stored without one);
    /// each merge commit is recomputed from its parents and must match byte for byte. Parents must
    /// be stored already or come earlier in the batch.
    package func receive(_ commits: [SignedCommit]) throws(TrellisError) {
        try receive(encoded: commits.map(WireCommit.init))
    }

    /// Batches at least this large are verified on every core (about 18 ms of Ed25519 work).
    static let parallelVerifyMinimum = 256

    /// `receive` for commits as they travel: encodings and signatures, verified here.
    package func receive(encoded commits: [WireCommit]) throws(TrellisError) {
        // Hashes, decoding and signatures depend on nothing stored: checked first, without the
        // lock, so that other sessions keep reading while a large push is verified.
        let verifiedCommits = try SignedCommit.verifyAll(commits, keepingEverySignature: format < 2)
        try writeBatch { [verifiedCommits] (batch: inout Batch) throws(TrellisError) in
            for verified in verifiedCommits {
                let (index, isNew) = try repositoryForWriting(verified.commit.repository, mustExist: false)
                if isNew { batch.created.append(index.name) }
                guard !index.contains(verified.id) else { continue }
                try index.checkReceived(verified)
                clock.observe(verified.commit.timestamp)
                try batch.stage(verified, in: index)
            }
        }
    }
}

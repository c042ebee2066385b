import TrellisCrypto

/// One change to one record. Its canonical encoding (docs/format.md §Commits) is what the id hashes.
public struct Commit: Hashable, Sendable {
    public static let magic: [UInt8] = Array("TRLC".utf8)
    public static let formatVersion: UInt8 = 1
    public static let maxNameBytes = 1024

    public enum Kind: UInt8, Sendable {
        /// The record's full document after the change.
        case put = 0
        /// A tombstone: the record is deleted.
        case delete = 1
        /// A deterministic, author-less merge of the parents (docs/merge.md).
        case merge = 2
        /// A merge whose result is that the record is deleted: author-less, no document.
        case mergeDelete = 3

        /// Merges carry no author and are verified by recomputing them.
        public var isMerge: Bool { self == .merge || self == .mergeDelete }
        /// Tombstones carry no document.
        public var deletes: Bool { self == .delete || self == .mergeDelete }
    }

    public var kind: Kind
    public var repository: String
    public var key: String
    /// Sorted ascending, no duplicates.
    public private(set) var parents: [CommitID]
    public var timestamp: HLCTimestamp
    public var author: PublicKey?
    /// Nil exactly for tombstones.
    public var document: Document?

    public init(kind: Kind, repository: String, key: String, parents: [CommitID], timestamp: HLCTimestamp,
                author: PublicKey?, document: Document?) {
        self.kind = kind
        self.repository = repository
        self.key = key
        if zip(parents, parents.dropFirst()).allSatisfy({ $0 < $1 }) {
            self.parents = parents  // already sorted and unique: no copy
        } else {
            var sorted = parents.sorted()
            var kept = 1
            for n in sorted.indices.dropFirst() where sorted[n] != sorted[kept - 1] {
                sorted[kept] = sorted[n]
                kept += 1
            }
            sorted.removeSubrange(kept...)
            self.parents = sorted
        }
        self.timestamp = timestamp
        self.author = author
        self.document = document
    }

    public var isTombstone: Bool { kind.deletes }

    /// The kind byte of an encoded commit, read in place (it follows the 4-byte magic and the
    /// version byte, docs/format.md §Commits); 0xFF, no kind, when the encoding is too short.
    public static func kindByte(of encoded: ArraySlice<UInt8>) -> UInt8 {
        let i = encoded.startIndex + 5
        return i < encoded.endIndex ? encoded[i] : 0xFF
    }

    /// Written once into scratch memory on the stack and copied out, when it fits there (most
    /// commits do); else counted first, then written into an array of exactly that size.
    public func encoded() -> [UInt8] {
        let fitted: [UInt8]? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { scratch in
            var w = FixedByteWriter(scratch)
            write(to: &w)
            return w.overflowed ? nil : Array(UnsafeBufferPointer(rebasing: scratch[..<w.count]))
        }
        if let fitted { return fitted }
        var counter = ByteCounter()
        write(to: &counter)
        return [UInt8](unsafeUninitializedCapacity: counter.count) { buffer, initialized in
            var w = FixedByteWriter(buffer)
            write(to: &w)
            precondition(!w.overflowed, "a commit's encoding outgrew its counted size")  // safe: same walk as the count
            initialized = w.count
        }
    }

    private func write<W: ByteSink>(to w: inout W) {
        w.raw(Commit.magic)
        w.u8(Commit.formatVersion)
        w.u8(kind.rawValue)
        w.string(repository)
        w.string(key)
        w.varint(UInt64(parents.count))
        for p in parents { p.write(to: &w) }
        w.u64(timestamp.wallMillis)
        w.u32(timestamp.logical)
        if let author {
            w.u8(1)
            w.raw(author.bytes)
        } else {
            w.u8(0)
        }
        if let document { CanonicalEncoder.write(document, to: &w) }
    }

    public var id: CommitID { CommitID.of(encoded()) }

    /// Everything but the document, read without decoding the document: enough to index a
    /// commit cheaply.
    public struct Header: Sendable {
        public var kind: Kind
        public var repository: String
        public var key: String
        public var parents: [CommitID]
        public var timestamp: HLCTimestamp
        public var author: PublicKey?

        public init(kind: Kind, repository: String, key: String, parents: [CommitID], timestamp: HLCTimestamp, author: PublicKey?) {
            self.kind = kind
            self.repository = repository
            self.key = key
            self.parents = parents
            self.timestamp = timestamp
            self.author = author
        }
    }

    package static func decodeHeader(_ r: inout ByteReader) throws(TrellisError) -> Header {
        guard Array(try r.raw(4)) == magic else { throw TrellisError(.corruptData, "not a commit (bad magic)") }
        let version = try r.u8()
        guard version == formatVersion else {
            throw TrellisError(.corruptData, "unsupported commit format version \(version)")
        }
        guard let kind = Kind(rawValue: try r.u8()) else { throw TrellisError(.corruptData, "unknown commit kind") }
        let repository = try r.string()
        let key = try r.string()
        let n = try r.length(elementSize: CommitID.size)
        var parents: [CommitID] = []
        for _ in 0..<n {
            let p = try r.commitID()
            guard parents.last.map({ $0 < p }) ?? true else {
                throw TrellisError(.corruptData, "commit parents are not sorted and unique")
            }
            parents.append(p)
        }
        let timestamp = HLCTimestamp(wallMillis: try r.u64(), logical: try r.u32())
        var author: PublicKey? = nil
        switch try r.u8() {
        case 0: break
        case 1:
            do { author = try PublicKey(bytes: Array(try r.raw(PublicKey.size))) } catch { throw TrellisError(.corruptData, "bad author key") }
        default: throw TrellisError(.corruptData, "bad author flag")
        }
        return Header(kind: kind, repository: repository, key: key, parents: parents, timestamp: timestamp, author: author)
    }

    public static func decodeHeader(_ bytes: [UInt8]) throws(TrellisError) -> Header {
        var r = ByteReader(bytes)
        return try decodeHeader(&r)
    }

    /// Parses canonical bytes; anything that would not re-encode to the same bytes is rejected.
    public static func decode(_ bytes: [UInt8]) throws(TrellisError) -> Commit {
        var r = ByteReader(bytes)
        let h = try decodeHeader(&r)
        let document: Document? = h.kind.deletes ? nil : try CanonicalDecoder.decodeDocument(&r)
        guard r.isAtEnd else { throw TrellisError(.corruptData, "trailing bytes after commit") }
        return Commit(kind: h.kind, repository: h.repository, key: h.key, parents: h.parents, timestamp: h.timestamp,
                      author: h.author, document: document)
    }
}

/// A commit with its id, canonical bytes and Ed25519 signature over the id.
public struct SignedCommit: Hashable, Sendable {
    public let commit: Commit
    public let id: CommitID
    public let encoded: [UInt8]
    /// 64 bytes; empty for author-less merge commits.
    public let signature: [UInt8]

    package static func sign(_ commit: Commit, with key: SigningKey) -> SignedCommit {
        var c = commit
        c.author = key.publicKey
        let bytes = c.encoded()
        let id = CommitID.of(bytes)
        return SignedCommit(commit: c, id: id, encoded: bytes, signature: key.sign(id.bytes))
    }

    /// A commit with its author set and id computed, to be signed later (`signed(with:)`):
    /// a batch computes ids in order, then signs them all at once, in parallel.
    package static func unsigned(_ commit: Commit, author key: SigningKey) -> SignedCommit {
        var c = commit
        c.author = key.publicKey
        let bytes = c.encoded()
        return SignedCommit(commit: c, id: CommitID.of(bytes), encoded: bytes, signature: [])
    }

    package func signed(with key: SigningKey) -> SignedCommit {
        SignedCommit(commit: commit, id: id, encoded: encoded, signature: key.sign(id.bytes))
    }

    /// Decodes stored or received bytes, re-hashes them and verifies the signature.
    public static func verify(encoded: [UInt8], signature: [UInt8]) throws(TrellisError) -> SignedCommit {
        let commit = try Commit.decode(encoded)
        let id = CommitID.of(encoded)
        let s = SignedCommit(commit: commit, id: id, encoded: encoded, signature: signature)
        try s.checkSignature()
        return s
    }

    /// Decodes stored or received bytes and re-hashes them; the signature is not checked (a
    /// later commit by the same author may cover it: `SignatureCoverage`).
    public static func decoded(encoded: [UInt8], signature: [UInt8]) throws(TrellisError) -> SignedCommit {
        SignedCommit(commit: try Commit.decode(encoded), id: CommitID.of(encoded), encoded: encoded, signature: signature)
    }

    /// The same commit without its signature, once a later commit by its author covers it.
    public var withoutSignature: SignedCommit {
        SignedCommit(commit: commit, id: id, encoded: encoded, signature: [])
    }

    /// What `SignatureCoverage` needs to know of this commit.
    public var coverageItem: SignatureCoverage.Item {
        SignatureCoverage.Item(id: id, author: commit.author, parents: commit.parents, hasSignature: !signature.isEmpty)
    }

    /// An author-less merge commit: its id is its hash and it has no signature.
    public static func merge(_ commit: Commit) -> SignedCommit {
        let bytes = commit.encoded()
        return SignedCommit(commit: commit, id: CommitID.of(bytes), encoded: bytes, signature: [])
    }

    /// Builds from parts already verified when they were stored.
    public init(commit: Commit, id: CommitID, encoded: [UInt8], signature: [UInt8]) {
        self.commit = commit
        self.id = id
        self.encoded = encoded
        self.signature = signature
    }

    public func checkSignature() throws(TrellisError) {
        guard let author = commit.author else {
            // Author-less commits are only merges, which peers verify by recomputing them.
            guard commit.kind.isMerge, signature.isEmpty else {
                throw TrellisError(.badSignature, "commit \(id.short) has no author but is not a merge")
            }
            return
        }
        guard author.isValidSignature(signature, for: id.bytes) else {
            throw TrellisError(.badSignature, "commit \(id.short) has an invalid signature")
        }
    }
}

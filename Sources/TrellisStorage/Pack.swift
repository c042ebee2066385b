import TrellisCore
import TrellisCrypto

/// A commit as packs hold it: the verified encoding and signature, plus what grouping and
/// delta selection need.
struct PackedCommit {
    let id: CommitID
    let key: String
    let parents: [CommitID]
    let author: PublicKey?
    let generation: UInt32
    /// The commit's arrival number in its repository (docs/format.md §Packs).
    let seq: UInt64
    let encoded: [UInt8]
    private(set) var signature: [UInt8]

    init(id: CommitID, generation: UInt32, seq: UInt64, encoded: [UInt8], signature: [UInt8]) throws(TrellisError) {
        let header = try Commit.decodeHeader(encoded)
        self.init(id: id, header: header, author: header.author, generation: generation, seq: seq, encoded: encoded, signature: signature)
    }

    /// The same, sharing one copy of each author's key through `authors`.
    init(id: CommitID, generation: UInt32, seq: UInt64, encoded: [UInt8], signature: [UInt8],
         authors: inout AuthorTable) throws(TrellisError) {
        let header = try Commit.decodeHeader(encoded)
        self.init(id: id, header: header, author: authors.shared(header.author), generation: generation, seq: seq,
                  encoded: encoded, signature: signature)
    }

    private init(id: CommitID, header: Commit.Header, author: PublicKey?, generation: UInt32, seq: UInt64,
                 encoded: [UInt8], signature: [UInt8]) {
        self.id = id
        key = header.key
        parents = header.parents
        self.author = author
        self.generation = generation
        self.seq = seq
        self.encoded = encoded
        self.signature = signature
    }
}

/// One copy of each author's key: a repository has few authors, and a repack holds every
/// commit at once, each of which would otherwise keep a 32-byte array of its own.
struct AuthorTable {
    private var keys: [PublicKey: PublicKey] = [:]

    mutating func shared(_ key: PublicKey?) -> PublicKey? {
        guard let key else { return nil }
        if let kept = keys[key] { return kept }
        keys[key] = key
        return key
    }
}

extension PackedCommit {
    /// A writer keeps the signature of every commit whose generation is a multiple of this, so
    /// that a receiver never has to hold more than this many generations of one author's
    /// commits before a signature covers them (docs/format.md §Covered signatures).
    static let keptSignatureInterval: UInt32 = 256

    /// Drops the signatures that later commits by the same authors cover (format 2 stores).
    /// Stored signatures were checked when they arrived, so they are trusted here.
    static func dropCoveredSignatures(_ commits: inout [PackedCommit]) {
        let needs = SignatureCoverage.plan(commits.map {
            SignatureCoverage.Item(id: $0.id, author: $0.author, parents: $0.parents, hasSignature: !$0.signature.isEmpty)
        })
        for (i, need) in needs.enumerated() where need == .covered && commits[i].generation % keptSignatureInterval != 0 {
            commits[i].signature = []
        }
    }
}

/// What a store's format decides about the pack files written for it (docs/format.md §Store formats).
struct PackLayout {
    /// Drop the signatures that later commits by the same authors cover (format 2 and later).
    let dropsCoveredSignatures: Bool
    /// The version of the pack indexes and checkpoints written: 2 from format 3 on.
    let fileVersion: Int

    init(storeFormat: Int) {
        dropsCoveredSignatures = storeFormat >= 2
        fileVersion = storeFormat >= 3 ? 2 : 1
    }
}

/// Pack layout constants (docs/format.md §Packs).
enum PackFormat {
    static let packMagic: [UInt8] = Array("TRLPACK2".utf8)
    static let headerSize = 24
    static let blockMagic: [UInt8] = Array("TRB1".utf8)
    /// Bytes of each id that a pack index holds, by its magic (docs/format.md §Pack indexes).
    static let indexIDWidth: [[UInt8]: Int] = [Array("TRLIDX01".utf8): 32, Array("TRLIDX02".utf8): 8]
    static func indexMagic(version: Int) -> [UInt8] { Array((version >= 2 ? "TRLIDX02" : "TRLIDX01").utf8) }
    static let checksumSize = 32
    static let blockHeaderSize = 20
    static let maxDictionary = 65_536
    static let maxBlockRaw = 64 << 20
    /// Raw bytes per block: with a dictionary of at most 32 KiB, the whole dictionary stays
    /// inside LZ4's 64 KiB window for the entire block.
    static let targetBlockRaw = 32 << 10
    static let targetDictionary = 32 << 10
    static let defaultDepth = StorageEngine.defaultPackDepth

    static func name(checksum: [UInt8]) -> String { "pack-" + Hex.encode(Array(checksum.prefix(16))) }
}

/// Builds a pack and its index from commits (docs/format.md §Packs, §Pack indexes).
enum PackWriter {
    struct Output {
        var pack: [UInt8]
        var index: [UInt8]
        var checksum: [UInt8]
        var entries: Int
        var deltas: Int
        var longestChain: Int
        /// Each commit's entry number.
        var numbers: [CommitID: Int]
    }

    /// `input` is consumed: a caller that passes its last copy lets the pack be built in the
    /// same array, not in a second one (a repack of 1,000,000 commits holds every encoding).
    static func build(_ input: consuming [PackedCommit], depth: Int = PackFormat.defaultDepth,
                      blockSize: Int = PackFormat.targetBlockRaw, indexVersion: Int = 2,
                      effort: LZ4.Effort = .fast) throws(TrellisError) -> Output {
        var commits = input
        do {
            // The first copy of each commit; the set is gone before the pack is built.
            var seen = Set<CommitID>(minimumCapacity: commits.count)
            commits.removeAll { !seen.insert($0.id).inserted }
        }
        commits.sort { a, b in
            let byKey = Document.compare(a.key, b.key)  // byte order, as docs/format.md says
            if byKey != 0 { return byKey < 0 }
            if a.generation != b.generation { return a.generation < b.generation }
            return a.id < b.id
        }
        var number: [CommitID: Int] = [:]
        number.reserveCapacity(commits.count)
        for (i, c) in commits.enumerated() { number[c.id] = i }

        var out = ByteWriter(capacity: commits.count * 128)
        out.raw(PackFormat.packMagic)
        out.u32(UInt32(commits.count))
        let dictionary = sampleDictionary(commits)
        out.u32(UInt32(dictionary.count))
        out.u64(commits.map { $0.seq + 1 }.max() ?? 0)
        out.raw(dictionary)

        let compressor = try LZ4.DictionaryCompressor(dictionary: dictionary, effort: effort)
        var blocks: [(offset: UInt64, first: UInt32, crc: UInt32)] = []
        var chain = [Int](repeating: 0, count: commits.count)
        var raw = ByteWriter(capacity: PackFormat.targetBlockRaw + 4096)
        var blockFirst = 0
        var deltas = 0
        func flush(upTo next: Int) throws(TrellisError) {
            guard next > blockFirst else { return }
            let payload = try compressor.compress(raw.bytes)
            var lengths = ByteWriter(capacity: 12)
            lengths.u32(UInt32(next - blockFirst))
            lengths.u32(UInt32(payload.count))
            lengths.u32(UInt32(raw.bytes.count))
            let crc = CRC32.checksum(payload, seed: CRC32.checksum(lengths.bytes))
            blocks.append((UInt64(out.bytes.count), UInt32(blockFirst), crc))
            out.raw(PackFormat.blockMagic)
            out.raw(lengths.bytes)
            out.u32(crc)
            out.raw(payload)
            raw = ByteWriter(capacity: PackFormat.targetBlockRaw + 4096)
            blockFirst = next
        }
        for (i, c) in commits.enumerated() {
            guard c.encoded.count <= PackFormat.maxBlockRaw / 2 else {
                throw TrellisError(.invalidArgument, "commit \(c.id.short) is too large for a pack block")
            }
            raw.varint(UInt64(c.generation))
            raw.varint(c.seq)
            if let base = c.parents.lazy.compactMap({ number[$0] }).first, chain[base] < depth {
                let delta = Delta.make(target: c.encoded, base: commits[base].encoded, baseID: commits[base].id)
                chain[i] = chain[base] + 1
                deltas += 1
                raw.u8(1)
                raw.varint(UInt64(i - base))
                raw.varint(UInt64(delta.count))
                raw.raw(delta)
            } else {
                raw.u8(0)
                raw.varint(UInt64(c.encoded.count))
                raw.raw(c.encoded)
            }
            raw.varint(UInt64(c.signature.count))
            raw.raw(c.signature)
            if raw.bytes.count >= blockSize { try flush(upTo: i + 1) }
        }
        try flush(upTo: commits.count)
        let checksum = Blake2b256.hash(out.bytes)
        out.raw(checksum)

        let index = buildIndex(ids: commits.map(\.id), checksum: checksum, blocks: blocks, version: indexVersion)
        return Output(pack: out.bytes, index: index, checksum: checksum, entries: commits.count, deltas: deltas,
                      longestChain: chain.max() ?? 0, numbers: number)
    }

    /// Whole encodings of commits spread evenly over the pack, up to 32 KiB (none for small
    /// packs, where a dictionary would cost more than it saves).
    static func sampleDictionary(_ commits: [PackedCommit]) -> [UInt8] {
        let total = commits.reduce(0) { $0 + $1.encoded.count }
        let budget = min(PackFormat.targetDictionary, total / 16)
        guard budget >= 1024, !commits.isEmpty else { return [] }
        let average = max(1, total / commits.count)
        let stride = max(1, commits.count / max(1, budget / average))
        var dictionary: [UInt8] = []
        var i = 0
        while i < commits.count, dictionary.count + commits[i].encoded.count <= budget {
            dictionary.append(contentsOf: commits[i].encoded)
            i += stride
        }
        return dictionary
    }

    static func buildIndex(ids: [CommitID], checksum: [UInt8], blocks: [(offset: UInt64, first: UInt32, crc: UInt32)],
                           version: Int) -> [UInt8] {
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        var w = ByteWriter(capacity: 8 + 32 + 1024 + ids.count * 36 + blocks.count * 16 + 36)
        w.raw(PackFormat.indexMagic(version: version))
        w.raw(checksum)
        var fanout = [UInt32](repeating: 0, count: 256)
        for id in ids { fanout[Int(id.firstByte)] += 1 }
        var running: UInt32 = 0
        for b in 0..<256 {
            running += fanout[b]
            w.u32(running)
        }
        for i in order {
            if version >= 2 { w.u64(ids[i].prefix) } else { ids[i].write(to: &w) }
        }
        for i in order { w.u32(UInt32(i)) }
        w.u32(UInt32(blocks.count))
        for b in blocks {
            w.u64(b.offset)
            w.u32(b.first)
            w.u32(b.crc)
        }
        w.raw(Blake2b256.hash(w.bytes))
        return w.bytes
    }
}

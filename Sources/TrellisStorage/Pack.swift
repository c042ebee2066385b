import TrellisCore
import TrellisCrypto

/// A commit held whole in memory (a log's commits, a repair's salvage) on its way into a pack.
struct PackedCommit {
    let id: CommitID
    let generation: UInt32
    /// The commit's arrival number in its repository (docs/format.md §Packs).
    let seq: UInt64
    let encoded: [UInt8]
    let signature: [UInt8]
}

/// What a pack is built from: each commit's header facts, held compactly, and where its bytes
/// are. A repack of 1,000,000 commits holds about 100 B per commit here and no encoding: the
/// writer fetches each commit's bytes from its source when it writes the entry
/// (docs/architecture.md §Packs, checkpoints and repack).
struct PackInput {
    private(set) var ids: [CommitID] = []
    private(set) var generations: [UInt32] = []
    private(set) var seqs: [UInt64] = []
    private(set) var lengths: [UInt32] = []
    private(set) var signed: [Bool] = []
    /// Where the caller finds each commit's bytes again; the writer passes it back to `fetch`.
    private(set) var sources: [UInt64] = []
    fileprivate private(set) var keyNumbers: [Int32] = []
    fileprivate private(set) var keys = Numbering<String>()
    /// Each commit's author by number, or -1 for none (a merge).
    fileprivate private(set) var authorNumbers: [Int32] = []
    private var authors = Numbering<PublicKey>()
    /// Commit i's parents are `parentIDs[parentEnds[i - 1] ..< parentEnds[i]]` (from 0 for the first).
    fileprivate private(set) var parentEnds: [Int32] = []
    fileprivate private(set) var parentIDs: [CommitID] = []

    init(capacity: Int = 0) {
        ids.reserveCapacity(capacity)
        generations.reserveCapacity(capacity)
        seqs.reserveCapacity(capacity)
        lengths.reserveCapacity(capacity)
        signed.reserveCapacity(capacity)
        sources.reserveCapacity(capacity)
        keyNumbers.reserveCapacity(capacity)
        authorNumbers.reserveCapacity(capacity)
        parentEnds.reserveCapacity(capacity)
        parentIDs.reserveCapacity(capacity)
    }

    var count: Int { ids.count }

    /// Adds a commit whose encoding is `encoded` (only its header is read and nothing of it kept).
    /// A repeated id is packed once, at its first place.
    mutating func append(id: CommitID, generation: UInt32, seq: UInt64, encoded: [UInt8], signed: Bool,
                         source: UInt64) throws(TrellisError) {
        guard encoded.count <= PackFormat.maxBlockRaw / 2 else {
            throw TrellisError(.invalidArgument, "commit \(id.short) is too large for a pack block")
        }
        let header = try Commit.decodeHeader(encoded)
        ids.append(id)
        generations.append(generation)
        seqs.append(seq)
        lengths.append(UInt32(encoded.count))
        self.signed.append(signed)
        sources.append(source)
        keyNumbers.append(keys.number(of: header.key))
        authorNumbers.append(header.author.map { authors.number(of: $0) } ?? -1)
        parentIDs.append(contentsOf: header.parents)
        parentEnds.append(Int32(parentIDs.count))
    }

    /// Commits held whole: their sources are their places in `commits`.
    init(_ commits: [PackedCommit]) throws(TrellisError) {
        self.init(capacity: commits.count)
        for (i, c) in commits.enumerated() {
            try append(id: c.id, generation: c.generation, seq: c.seq, encoded: c.encoded, signed: !c.signature.isEmpty, source: UInt64(i))
        }
    }

    fileprivate func parents(of i: Int) -> ArraySlice<CommitID> {
        parentIDs[(i == 0 ? 0 : Int(parentEnds[i - 1]))..<Int(parentEnds[i])]
    }
}

/// One commit's bytes, fetched from its source by the writer.
struct PackSourceEntry {
    let id: CommitID
    let encoded: [UInt8]
    let signature: [UInt8]
}

/// A writer keeps the signature of every commit whose generation is a multiple of this, so
/// that a receiver never has to hold more than this many generations of one author's
/// commits before a signature covers them (docs/format.md §Covered signatures).
let keptSignatureInterval: UInt32 = 256

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
        var numbers: EntryNumbers
    }

    /// Entry numbers by id, over the ids sorted once (no table of every id is built).
    struct EntryNumbers {
        fileprivate let ids: [CommitID]
        /// The kept commits' places in `ids`, by id.
        fileprivate let byID: [Int32]
        fileprivate let entry: [Int32]
        /// Where in `byID` the ids whose first two bytes are b start (`starts[b]`) and end (`starts[b + 1]`).
        private let starts: [Int32]

        /// The same lookup, answering with `entry`'s numbers.
        fileprivate func with(entry: [Int32]) -> EntryNumbers {
            EntryNumbers(ids: ids, byID: byID, entry: entry, starts: starts)
        }

        private init(ids: [CommitID], byID: [Int32], entry: [Int32], starts: [Int32]) {
            (self.ids, self.byID, self.entry, self.starts) = (ids, byID, entry, starts)
        }

        fileprivate init(ids: [CommitID], byID: [Int32]) {
            (self.ids, self.byID, self.entry) = (ids, byID, [])
            var starts = [Int32](repeating: 0, count: 65_537)
            for i in byID { starts[Int(ids[Int(i)].prefix >> 48) + 1] += 1 }
            for b in 0..<65_536 { starts[b + 1] += starts[b] }
            self.starts = starts
        }

        /// The place in `ids` of the first copy of `id`, if the pack has it.
        fileprivate func place(of id: CommitID) -> Int? {
            let bucket = Int(id.prefix >> 48)
            var lo = Int(starts[bucket]), hi = Int(starts[bucket + 1])
            while lo < hi {
                let mid = (lo + hi) / 2
                if ids[Int(byID[mid])] < id { lo = mid + 1 } else { hi = mid }
            }
            return lo < byID.count && ids[Int(byID[lo])] == id ? Int(byID[lo]) : nil
        }

        func callAsFunction(_ id: CommitID) -> Int? { place(of: id).map { Int(entry[$0]) } }
    }

    /// Commits held whole.
    static func build(_ commits: [PackedCommit], depth: Int = PackFormat.defaultDepth,
                      blockSize: Int = PackFormat.targetBlockRaw, indexVersion: Int = 2,
                      effort: LZ4.Effort = .fast, dropsCoveredSignatures: Bool = false) throws(TrellisError) -> Output {
        try build(try PackInput(commits), depth: depth, blockSize: blockSize, indexVersion: indexVersion, effort: effort,
                  dropsCoveredSignatures: dropsCoveredSignatures) { source in
            let c = commits[Int(source)]
            return PackSourceEntry(id: c.id, encoded: c.encoded, signature: c.signature)
        }
    }

    /// Entries sorted by record key (byte order), generation and id, each commit once (its
    /// first copy). `fetch` gives a commit's bytes from the source `input` recorded; it is called
    /// once per entry in pack order, and again for a few dictionary samples and delta bases that
    /// fell out of the window of recent entries. `dropsCoveredSignatures`: format 2 and later
    /// drop the signatures that later commits by the same authors cover (stored signatures were
    /// checked when they arrived, so they are trusted here).
    static func build(_ input: consuming PackInput, depth: Int = PackFormat.defaultDepth,
                      blockSize: Int = PackFormat.targetBlockRaw, indexVersion: Int = 2,
                      effort: LZ4.Effort = .fast, dropsCoveredSignatures: Bool = false,
                      fetch: (UInt64) throws(TrellisError) -> PackSourceEntry) throws(TrellisError) -> Output {
        var input = input
        let n = input.count
        // Plain arrays, not the struct's: the sorts and the loop below read them millions of times.
        let (ids, generations, seqs, lengths, sources) = (input.ids, input.generations, input.seqs, input.lengths, input.sources)
        let (keys, keyNumbers) = (input.keys.values, input.keyNumbers)
        // The first copy of each id, sorted by id: parents are looked up here.
        var byID = places(n)
        byID.sort { ids[Int($0)] != ids[Int($1)] ? ids[Int($0)] < ids[Int($1)] : $0 < $1 }
        var kept = [Bool](repeating: false, count: n)
        var unique = 0
        for k in 0..<n where k == 0 || ids[Int(byID[k])] != ids[Int(byID[k - 1])] {
            kept[Int(byID[k])] = true
            byID[unique] = byID[k]
            unique += 1
        }
        byID.removeLast(n - unique)
        let lookup = EntryNumbers(ids: ids, byID: byID)

        // Each commit's parents in the pack, by place; then the list of parent ids goes.
        var graph = SignatureCoverage.Graph(capacity: n)
        for i in 0..<n {
            if kept[i] {
                for p in input.parents(of: i) { if let place = lookup.place(of: p) { graph.addParent(place) } }
            }
            graph.append(author: input.authorNumbers[i] < 0 ? nil : input.authorNumbers[i], hasSignature: input.signed[i])
        }
        input = PackInput()  // the parent ids go
        // Empty when no signature is dropped.
        let dropSignature: [Bool] = dropsCoveredSignatures ? zip(SignatureCoverage.plan(graph), generations).map { need, generation in
            need == .covered && generation % keptSignatureInterval != 0
        } : []

        // Pack order: record key in byte order (docs/format.md), generation, id.
        let keyRank: [Int32] = {
            let order = keys.indices.sorted { Document.compare(keys[$0], keys[$1]) < 0 }
            var rank = [Int32](repeating: 0, count: order.count)
            for (r, k) in order.enumerated() { rank[k] = Int32(r) }
            return rank
        }()
        var order = byID
        order.sort { a, b in
            let (x, y) = (Int(a), Int(b))
            let (kx, ky) = (keyRank[Int(keyNumbers[x])], keyRank[Int(keyNumbers[y])])
            if kx != ky { return kx < ky }
            if generations[x] != generations[y] { return generations[x] < generations[y] }
            return ids[x] < ids[y]
        }
        var entry = [Int32](repeating: -1, count: n)
        for (e, i) in order.enumerated() { entry[Int(i)] = Int32(e) }
        let numbers = lookup.with(entry: entry)

        func fetched(_ place: Int) throws(TrellisError) -> PackSourceEntry {
            let e = try fetch(sources[place])
            guard e.id == ids[place], e.encoded.count == Int(lengths[place]) else {
                throw TrellisError(.corruptData, "commit \(ids[place].short) changed while it was packed")
            }
            return e
        }

        var out = ByteWriter(capacity: min(order.count * 128, 64 << 20))
        out.raw(PackFormat.packMagic)
        out.u32(UInt32(order.count))
        let dictionary = try sampleDictionary(count: order.count, length: { Int(lengths[Int(order[$0])]) }) { k throws(TrellisError) in
            try fetched(Int(order[k])).encoded
        }
        out.u32(UInt32(dictionary.count))
        out.u64(order.reduce(0) { max($0, seqs[Int($1)] + 1) })
        out.raw(dictionary)

        let compressor = try LZ4.DictionaryCompressor(dictionary: dictionary, effort: effort)
        var blocks: [(offset: UInt64, first: UInt32, crc: UInt32)] = []
        var chain = [UInt16](repeating: 0, count: order.count)
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
        // The encodings of recent entries, by entry number: a delta's base is its parent, which
        // sorts just before it (same record, lower generation).
        var recent: [Int: [UInt8]] = [:]
        for (e, place) in order.lazy.map({ Int($0) }).enumerated() {
            let c = try fetched(place)
            raw.varint(UInt64(generations[place]))
            raw.varint(seqs[place])
            if let parent = graph.parents(of: place).first(where: { Int($0) != place }), case let base = Int(entry[Int(parent)]),
               base < e, Int(chain[base]) < depth {
                let baseEncoded: [UInt8]
                if let hit = recent[base] { baseEncoded = hit } else { baseEncoded = try fetched(Int(order[base])).encoded }
                let delta = Delta.make(target: c.encoded, base: baseEncoded, baseID: ids[Int(order[base])])
                chain[e] = chain[base] + 1
                deltas += 1
                raw.u8(1)
                raw.varint(UInt64(e - base))
                raw.varint(UInt64(delta.count))
                raw.raw(delta)
            } else {
                raw.u8(0)
                raw.varint(UInt64(c.encoded.count))
                raw.raw(c.encoded)
            }
            let signature = !dropSignature.isEmpty && dropSignature[place] ? [] : c.signature
            raw.varint(UInt64(signature.count))
            raw.raw(signature)
            if recent.count >= 4096 { recent.removeAll(keepingCapacity: true) }
            recent[e] = c.encoded
            if raw.bytes.count >= blockSize { try flush(upTo: e + 1) }
        }
        try flush(upTo: order.count)
        let checksum = Blake2b256.hash(out.bytes)
        out.raw(checksum)

        let index = buildIndex(ids: order.lazy.map { ids[Int($0)] }, checksum: checksum, blocks: blocks, version: indexVersion)
        return Output(pack: out.bytes, index: index, checksum: checksum, entries: order.count, deltas: deltas,
                      longestChain: Int(chain.max() ?? 0), numbers: numbers)
    }

    /// Whole encodings of commits spread evenly over the pack, up to 32 KiB (none for small
    /// packs, where a dictionary would cost more than it saves). `length(k)`: entry k's
    /// encoding size, in pack order; `encoding(k)` fetches entry k's encoding.
    static func sampleDictionary(count: Int, length: (Int) -> Int,
                                 encoding: (Int) throws(TrellisError) -> [UInt8]) throws(TrellisError) -> [UInt8] {
        let total = (0..<count).reduce(0) { $0 + length($1) }
        let budget = min(PackFormat.targetDictionary, total / 16)
        guard budget >= 1024, count > 0 else { return [] }
        let average = max(1, total / count)
        let stride = max(1, count / max(1, budget / average))
        var dictionary: [UInt8] = []
        var i = 0
        while i < count, dictionary.count + length(i) <= budget {
            dictionary.append(contentsOf: try encoding(i))
            i += stride
        }
        return dictionary
    }

    /// `ids`: each entry's id, in pack order (from index 0).
    static func buildIndex<IDs: RandomAccessCollection<CommitID>>(ids: IDs, checksum: [UInt8],
                                                                  blocks: [(offset: UInt64, first: UInt32, crc: UInt32)],
                                                                  version: Int) -> [UInt8] where IDs.Index == Int {
        var order = places(ids.count)
        order.sort { ids[Int($0)] < ids[Int($1)] }
        var w = ByteWriter(capacity: 8 + 32 + 1024 + ids.count * (version >= 2 ? 12 : 36) + blocks.count * 16 + 36)
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
            if version >= 2 { w.u64(ids[Int(i)].prefix) } else { ids[Int(i)].write(to: &w) }
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

/// 0, 1, ..., n - 1, four bytes each: places to sort by what they index.
private func places(_ n: Int) -> [Int32] {
    [Int32](unsafeUninitializedCapacity: n) { buffer, count in
        for i in 0..<n { buffer[i] = Int32(i) }
        count = n
    }
}

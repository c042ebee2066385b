#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrellisCore
import TrellisCrypto

/// What the store tells about a commit without its document.
public struct CommitInfo: Sendable, Hashable {
    public let id: CommitID
    public let kind: Commit.Kind
    public let repository: String
    public let key: String
    public let parents: [CommitID]
    public let timestamp: HLCTimestamp
    public let author: PublicKey?
    /// 1 for a root, else 1 + the largest parent generation: bounds merge-base searches.
    public let generation: UInt32

    init(id: CommitID, generation: UInt32, header h: Commit.Header) {
        self.id = id
        self.generation = generation
        kind = h.kind
        repository = h.repository
        key = h.key
        parents = h.parents
        timestamp = h.timestamp
        author = h.author
    }

    init(id: CommitID, generation: UInt32, encoded: [UInt8]) throws(TrellisError) {
        self.init(id: id, generation: generation, header: try Commit.decodeHeader(encoded))
    }

    /// Newest first: by hybrid logical clock, then generation (a merge shares its newest
    /// parent's timestamp but comes after it), then the larger id.
    public static func newerFirst(_ a: CommitInfo, _ b: CommitInfo) -> Bool {
        if a.timestamp != b.timestamp { return a.timestamp > b.timestamp }
        if a.generation != b.generation { return a.generation > b.generation }
        return a.id > b.id
    }

    /// The first `limit` (default all) of `infos` in `newerFirst` order. Sorts positions by
    /// plain-value keys rather than moving the infos (which hold strings and arrays): a
    /// repository's whole history is sorted on every `log`.
    public static func newestFirst(_ infos: [CommitInfo], limit: Int? = nil) -> [CommitInfo] {
        typealias Key = (timestamp: HLCTimestamp, generation: UInt32, id: CommitID, position: Int)
        var keys: [Key] = infos.enumerated().map { ($1.timestamp, $1.generation, $1.id, $0) }
        func newer(_ a: Key, _ b: Key) -> Bool {
            if a.timestamp != b.timestamp { return a.timestamp > b.timestamp }
            if a.generation != b.generation { return a.generation > b.generation }
            return a.id > b.id
        }
        keys.sort(by: newer)
        return keys.prefix(max(0, limit ?? keys.count)).map { infos[$0.position] }
    }
}

/// A head of a key. Its encoding is kept (often a slice of a version 1 checkpoint's bytes), or
/// read from its pack entry on first use (a version 2 checkpoint names the entry); it is
/// decoded on first use, so opening a store decodes no documents.
final class HeadRecord {
    let id: CommitID
    let generation: UInt32
    /// The commit's kind byte (docs/format.md §Commits).
    let kind: UInt8
    private var bytes: ArraySlice<UInt8>?
    /// The pack entry that holds it, once it is in a pack.
    private(set) var place: (pack: PackReader, number: Int)?
    /// What was decoded, boxed: most heads of a large store are never read, and a `Commit` and
    /// a `CommitInfo` held inline would triple the size of each.
    private final class Decoded {
        var commit: Commit?
        var info: CommitInfo?
        init(commit: Commit?) { self.commit = commit }
    }
    private var decoded: Decoded?

    init(id: CommitID, generation: UInt32, encoded: ArraySlice<UInt8>, decoded: Commit? = nil,
         place: (pack: PackReader, number: Int)? = nil) {
        self.id = id
        self.generation = generation
        kind = Commit.kindByte(of: encoded)
        bytes = encoded
        self.decoded = decoded.map { Decoded(commit: $0) }
        self.place = place
    }

    init(id: CommitID, generation: UInt32, kind: UInt8, pack: PackReader, number: Int) {
        self.id = id
        self.generation = generation
        self.kind = kind
        place = (pack, number)
    }

    var isTombstone: Bool { Commit.Kind(rawValue: kind)?.deletes == true }

    /// The encoding, read from the pack entry the first time when only the entry is known; the
    /// entry must be this head (docs/format.md §Checkpoints).
    func encoded() throws(TrellisError) -> ArraySlice<UInt8> {
        if let bytes { return bytes }
        guard let place else { throw TrellisError(.corruptData, "head \(id.short) has neither an encoding nor a pack entry") }
        let entry = try place.pack.entry(place.number)
        guard entry.id == id, entry.generation == generation, Commit.kindByte(of: entry.encoded[...]) == kind else {
            throw TrellisError(.corruptData, "\(place.pack.path): entry \(place.number) is not head \(id.short) as the checkpoint says (run `trellis fsck --repair`)")
        }
        bytes = entry.encoded[...]
        return entry.encoded[...]
    }

    /// The pack entry to read for this head's info, while nothing of it has been read yet.
    var unreadPlace: (pack: PackReader, number: Int)? { bytes == nil && decoded?.info == nil ? place : nil }

    /// The head is now entry `number` of `pack` (after a seal or repack wrote it there).
    func place(in pack: PackReader, number: Int) { place = (pack, number) }

    private var cache: Decoded {
        if let decoded { return decoded }
        let d = Decoded(commit: nil)
        decoded = d
        return d
    }

    func commit() throws(TrellisError) -> Commit {
        if let c = decoded?.commit { return c }
        let c = try Commit.decode(Array(try encoded()))
        cache.commit = c
        return c
    }

    func info() throws(TrellisError) -> CommitInfo {
        if let i = decoded?.info { return i }
        let i = try CommitInfo(id: id, generation: generation, encoded: Array(try encoded()))
        cache.info = i
        return i
    }
}

/// The in-memory view of one repository: its packs (looked up through their indexes), the
/// heads of every key (from the checkpoint, then the log), and the commits of the log.
/// Memory grows with the number of keys and the log, not with history.
final class RepositoryIndex {
    struct LoggedCommit {
        let info: CommitInfo
        let frameOffset: UInt64
        /// Its place among the frame's commits.
        let position: Int
        /// Arrival number: the packs' `seqEnd`, then one more for each commit the log adds.
        let seq: UInt64
        /// The commit itself while its frame is not yet written.
        var pending: SignedCommit?
    }

    let name: String
    let directory: String
    private(set) var log: LogFile
    private(set) var packs: [PackReader]
    private var heads: [String: [HeadRecord]] = [:]
    /// The key of each head, built on first use (`indexHeadKeys`): a read of one key's document
    /// needs none of it, and building it is a third of opening a store of many records.
    private var headKeys: [CommitID: String] = [:]
    private var headKeysBuilt = false

    /// Builds `headKeys` unless it is built. Not a `lazy var`: a mutation through one copies
    /// the whole table.
    private func indexHeadKeys() {
        guard !headKeysBuilt else { return }
        headKeysBuilt = true
        headKeys.reserveCapacity(heads.count)
        for (key, hs) in heads { for h in hs { headKeys[h.id] = key } }
    }

    private func key(ofHead id: CommitID) -> String? {
        indexHeadKeys()
        return headKeys[id]
    }
    private(set) var logged: [CommitID: LoggedCommit] = [:]
    /// The log's commits in arrival order.
    private var loggedOrder: [CommitID] = []
    /// Commits of the batch being written, whose `pending` copies go once it is durable.
    private var pendingIDs: [CommitID] = []
    /// False when the checkpoint on disk does not cover exactly the packs present.
    private(set) var checkpointIsCurrent = true
    /// Problems met while opening (unreadable packs, rebuilt indexes), for the CLI to print.
    private(set) var warnings: [String] = []
    /// Set when some stored commits cannot be read (an unreadable pack or pack block, damage
    /// skipped in the log): heads may then be missing, so the repository refuses writes.
    private(set) var packDamage: String?
    var damage: String? {
        packDamage ?? (log.hasDamage ? (log.headerProblem ?? "damaged bytes in its log") : nil)
    }

    var packsDirectory: String { directory + "/packs" }
    var checkpointPath: String { directory + "/checkpoint" }

    init(name: String, directory: String) throws(TrellisError) {
        self.name = name
        self.directory = directory
        log = try LogFile(path: directory + "/log")
        packs = []
        for file in (try? FileSystem.list(directory + "/packs")) ?? [] where file.hasSuffix(".pack") {
            do throws(TrellisError) {
                let pack = try PackReader(path: directory + "/packs/" + file)
                if let problem = pack.indexProblem {
                    warnings.append("repository '\(name)': \(problem); indexed \(file) by reading it (run `trellis fsck --repair` to rewrite the index)")
                }
                packs.append(pack)
            } catch {
                warnings.append("repository '\(name)': cannot read \(file): \(error.message) (run `trellis fsck --repair`)")
                packDamage = packDamage ?? "cannot read \(file)"
            }
        }
        try loadHeads()
    }

    /// The checkpoint's heads when it covers exactly these packs, else heads computed by
    /// reading every pack.
    private func loadHeads() throws(TrellisError) {
        let present = Checkpoint.sorted(packs.map(\.checksum))
        if FileSystem.exists(checkpointPath) {
            do throws(TrellisError) {
                let byChecksum = Dictionary(packs.map { ($0.checksum, $0) }, uniquingKeysWith: { a, _ in a })
                let listed = present.map { byChecksum[$0] }
                let used = try Checkpoint.read(try FileSystem.readAll(checkpointPath), packs: { $0 == present },
                                               records: { heads.reserveCapacity($0) }) { key, records in
                    var hs: [HeadRecord] = []
                    hs.reserveCapacity(records.count)
                    for h in records {
                        if let encoded = h.encoded {
                            hs.append(HeadRecord(id: h.id, generation: h.generation, encoded: encoded))
                        } else if let entry = h.entry, let pack = listed[entry.pack] {
                            hs.append(HeadRecord(id: h.id, generation: h.generation, kind: h.kind, pack: pack, number: entry.number))
                        }
                    }
                    heads[key] = hs
                }
                if used != nil { return }
            } catch {
                heads = [:]
                warnings.append("repository '\(name)': ignoring the checkpoint: \(error.message)")
            }
        }
        checkpointIsCurrent = packs.isEmpty
        try headsFromPacks()
    }

    private func headsFromPacks() throws(TrellisError) {
        var parented = Set<CommitID>()
        var candidates: [CommitID: (key: String, generation: UInt32, encoded: [UInt8], pack: PackReader, number: Int)] = [:]
        for pack in packs {
            let problem = try pack.forEachReadableEntry { number, entry throws(TrellisError) in
                let header = try Commit.decodeHeader(entry.encoded)
                for p in header.parents {
                    parented.insert(p)
                    candidates[p] = nil
                }
                if !parented.contains(entry.id) && candidates[entry.id] == nil {
                    candidates[entry.id] = (header.key, entry.generation, entry.encoded, pack, number)
                }
            }
            if let problem {
                warnings.append("repository '\(name)': \(problem); read the rest of the pack (run `trellis fsck --repair`)")
                packDamage = packDamage ?? problem
            }
        }
        for (id, c) in candidates {
            heads[c.key, default: []].append(HeadRecord(id: id, generation: c.generation, encoded: c.encoded[...], place: (c.pack, c.number)))
        }
    }

    // MARK: Adding

    func contains(_ id: CommitID) -> Bool {
        logged[id] != nil || key(ofHead: id) != nil || packs.contains { $0.contains(id) }
    }

    /// Adds a commit of a batch being written, readable from memory (`pending`) until its
    /// frame is durable; a commit already stored is ignored.
    @discardableResult
    func add(pending c: SignedCommit, frameOffset: UInt64) throws(TrellisError) -> Bool {
        let commit = c.commit
        let header = Commit.Header(kind: commit.kind, repository: commit.repository, key: commit.key, parents: commit.parents,
                                   timestamp: commit.timestamp, author: commit.author)
        guard try add(c.id, header: header, encoded: c.encoded[...], decoded: commit, pending: c,
                      frameOffset: frameOffset, position: pendingIDs.count) != nil else { return false }
        pendingIDs.append(c.id)
        return true
    }

    /// Adds the commits of a frame read from the log (their documents stay undecoded), and
    /// keeps the frame as the most recently read.
    /// Makes room for `count` more log commits at once (a dictionary grown one frame at a
    /// time would be copied again and again while a large log is replayed).
    func reserve(_ count: Int) {
        logged.reserveCapacity(logged.count + count)
        loggedOrder.reserveCapacity(loggedOrder.count + count)
    }

    func add(frame contents: FrameContents, at offset: UInt64) throws(TrellisError) {
        for (position, e) in contents.entries.enumerated() {
            _ = try add(e.id, header: e.header, encoded: contents.raw[e.encoded], decoded: nil, pending: nil,
                        frameOffset: offset, position: position)
        }
        remember(contents, at: offset)
    }

    /// Parents are always added before their children. Returns the generation, or nil when
    /// the commit was already stored.
    private func add(_ id: CommitID, header: Commit.Header, encoded: ArraySlice<UInt8>, decoded: Commit?, pending: SignedCommit?,
                     frameOffset: UInt64, position: Int) throws(TrellisError) -> UInt32? {
        guard !contains(id) else { return nil }
        var generation: UInt32 = 0
        for p in header.parents { generation = max(generation, try self.generation(of: p)) }
        generation += 1
        let info = CommitInfo(id: id, generation: generation, header: header)
        logged[id] = LoggedCommit(info: info, frameOffset: frameOffset, position: position, seq: seqEnd, pending: pending)
        loggedOrder.append(id)
        indexHeadKeys()
        var keyHeads = heads[header.key] ?? []
        keyHeads.removeAll { head in
            guard header.parents.contains(head.id) else { return false }
            headKeys[head.id] = nil
            return true
        }
        keyHeads.append(HeadRecord(id: id, generation: generation, encoded: encoded, decoded: decoded))
        headKeys[id] = header.key
        heads[header.key] = keyHeads
        return generation
    }

    /// The batch's frames are durable: their commits can be read from the log from now on.
    func markWritten() {
        for id in pendingIDs { logged[id]?.pending = nil }
        pendingIDs = []
    }

    // MARK: Arrival order

    /// One more than the largest arrival number: commits added from now on get this and above.
    var seqEnd: UInt64 { (packs.map(\.seqEnd).max() ?? 0) + UInt64(loggedOrder.count) }

    /// Commits whose arrival number is at least `start`, in arrival order (so parents come
    /// before their children). Packs that end before `start` are not read.
    func ids(arrivedSince start: UInt64) throws(TrellisError) -> [CommitID] {
        var packed: [(UInt64, CommitID)] = []
        for pack in packs where pack.seqEnd > start {
            var numbers: [(Int, UInt64)] = []
            try pack.forEachBlock { first, entries throws(TrellisError) in
                for (i, raw) in entries.enumerated() where raw.seq >= start { numbers.append((first + i, raw.seq)) }
            }
            for (number, seq) in numbers { packed.append((seq, try pack.entry(number).id)) }
        }
        packed.sort { $0.0 < $1.0 }
        var out = packed.map(\.1)
        // Log commits are numbered consecutively from the packs' end.
        let packedEnd = packs.map(\.seqEnd).max() ?? 0
        let first = start > packedEnd ? min(loggedOrder.count, Int(start - packedEnd)) : 0
        out += loggedOrder[first...]
        return out
    }

    // MARK: Heads

    /// Every head of every key (tombstones included): what the sync heads digest covers.
    func allHeadIDs() -> [CommitID] {
        indexHeadKeys()
        return Array(headKeys.keys)
    }

    var keyCount: Int { heads.count }

    /// Every head of every key, tombstones included.
    func allHeads() throws(TrellisError) -> [CommitInfo] {
        var out: [CommitInfo] = []
        out.reserveCapacity(heads.count)
        for hs in heads.values { for h in hs { out.append(try h.info()) } }
        return out
    }

    /// Heads of a key, newest first.
    func heads(of key: String) throws(TrellisError) -> [CommitInfo] {
        var out: [CommitInfo] = []
        for h in heads[key] ?? [] { out.append(try h.info()) }
        return out.sorted(by: CommitInfo.newerFirst)
    }

    private func newestHead(_ key: String) throws(TrellisError) -> HeadRecord? {
        guard let hs = heads[key], var newest = hs.first else { return nil }
        for h in hs.dropFirst() where CommitInfo.newerFirst(try h.info(), try newest.info()) { newest = h }
        return newest
    }

    /// The newest head and its document (nil when that head is a tombstone).
    func current(_ key: String) throws(TrellisError) -> CurrentVersion? {
        guard let head = try newestHead(key) else { return nil }
        return CurrentVersion(head: try head.info(), document: try head.commit().document)
    }

    /// Keys that are not deleted, in byte order: the one head is not a tombstone, or the merge
    /// of several heads (computed in memory) keeps the record.
    func liveKeys() throws(TrellisError) -> [String] {
        var out: [String] = []
        for (key, hs) in heads {
            if hs.count > 1 {
                let merge = try HeadMerge.mergeCommit(repository: name, key: key, heads: hs.map(\.id), source: self)
                if merge.commit.document != nil { out.append(key) }
            } else if let head = hs.first, !head.isTombstone {
                out.append(key)
            }
        }
        return out.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Keys with more than one head, in byte order.
    func keysWithSeveralHeads() -> [String] {
        heads.compactMap { $0.value.count > 1 ? $0.key : nil }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// The checkpoint of the packs present, which hold every head: version 1 copies each
    /// head's encoding, version 2 names its pack entry (docs/format.md §Checkpoints).
    func checkpoint(version: Int) throws(TrellisError) -> Checkpoint {
        let checksums = Checkpoint.sorted(packs.map(\.checksum))
        let position = Dictionary(checksums.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var records: [(key: String, heads: [Checkpoint.Head])] = []
        records.reserveCapacity(heads.count)
        for (key, hs) in heads {
            var out: [Checkpoint.Head] = []
            for h in hs {
                var head = Checkpoint.Head(id: h.id, generation: h.generation, kind: h.kind)
                if version == 1 {
                    head.encoded = try h.encoded()
                } else {
                    // A head read from a version 1 checkpoint knows its encoding but not its
                    // entry: find the pack that holds it.
                    if h.place == nil, let (pack, number) = packs.lazy.compactMap({ p in p.entryNumber(of: h.id).map { (p, $0) } }).first {
                        h.place(in: pack, number: number)
                    }
                    guard let place = h.place, let p = position[place.pack.checksum] else {
                        throw TrellisError(.corruptData, "repository '\(name)': head \(h.id.short) is in no pack")
                    }
                    head.entry = (p, place.number)
                }
                out.append(head)
            }
            records.append((key, out))
        }
        return Checkpoint(version: version, packs: checksums, records: records)
    }

    /// Heads that a seal or repack just wrote into `pack` are read from it from now on.
    func placeHeads(in pack: PackReader, numbers: PackWriter.EntryNumbers) {
        for hs in heads.values {
            for h in hs { if let n = numbers(h.id) { h.place(in: pack, number: n) } }
        }
    }

    // MARK: Lookups

    /// The head with this id, if it is one.
    private func head(_ id: CommitID) -> HeadRecord? {
        key(ofHead: id).flatMap { head(id, of: $0) }
    }

    private func head(_ id: CommitID, of key: String) -> HeadRecord? {
        heads[key]?.first { $0.id == id }
    }

    func info(_ id: CommitID) throws(TrellisError) -> CommitInfo? {
        if let l = logged[id] { return l.info }
        if let head = head(id) { return try head.info() }
        for pack in packs {
            if let entry = try pack.entry(for: id) { return try CommitInfo(id: id, generation: entry.generation, encoded: entry.encoded) }
        }
        return nil
    }

    /// The frames read most recently, newest last, up to `cachedBytes` of decompressed bytes
    /// (always the newest one): reading history walks a frame's commits one by one, and a frame
    /// (up to thousands of commits) must not be read and decompressed for each of them. Only
    /// the commits asked for are decoded. Written frames never change; the cache is dropped
    /// with the log it came from.
    private var frameCache: [(offset: UInt64, contents: FrameContents)] = []
    private static let cachedBytes = 32 << 20
    /// Commits decoded from log frames (tests check that a read decodes only what it shows).
    private(set) var commitsDecoded = 0

    private func remember(_ contents: FrameContents, at offset: UInt64) {
        frameCache.removeAll { $0.offset == offset }
        frameCache.append((offset, contents))
        var total = frameCache.reduce(0) { $0 + $1.contents.raw.count }
        while frameCache.count > 1 && total > Self.cachedBytes {
            total -= frameCache.removeFirst().contents.raw.count
        }
    }

    private func frame(at offset: UInt64) throws(TrellisError) -> FrameContents {
        if let hit = frameCache.last(where: { $0.offset == offset }) { return hit.contents }
        let contents = try log.readFrame(at: offset)
        remember(contents, at: offset)
        return contents
    }

    /// A stored commit with its signature, from the batch being written, the log or a pack.
    func signedCommit(_ id: CommitID) throws(TrellisError) -> SignedCommit? {
        if let l = logged[id] {
            if let pending = l.pending { return pending }
            return try decode(id, at: l.position, of: try frame(at: l.frameOffset), offset: l.frameOffset)
        }
        for pack in packs {
            if let entry = try pack.entry(for: id) {
                return SignedCommit(commit: try Commit.decode(entry.encoded), id: id, encoded: entry.encoded, signature: entry.signature)
            }
        }
        return nil
    }

    /// Decodes the commit at `position` of a frame, checking that it is the one the index expects.
    private func decode(_ id: CommitID, at position: Int, of contents: FrameContents, offset: UInt64) throws(TrellisError) -> SignedCommit {
        try check(id, at: position, of: contents, offset: offset)
        commitsDecoded += 1
        return try contents.signedCommit(position)
    }

    /// That the commit at `position` of a frame is the one the index expects.
    private func check(_ id: CommitID, at position: Int, of contents: FrameContents, offset: UInt64) throws(TrellisError) {
        guard position < contents.entries.count, contents.entries[position].id == id else {
            throw TrellisError(.corruptData, "commit \(id.short) is missing from its frame at offset \(offset)")
        }
    }

    /// `info` of each of `ids`, in their order. Pack entries are read by pack and entry number:
    /// asked in another order (arrival order, say), each would rebuild its whole delta chain,
    /// since the entries it rests on have left the reader's cache by then.
    func infos(_ ids: [CommitID]) throws(TrellisError) -> [CommitInfo] {
        var out = [CommitInfo?](repeating: nil, count: ids.count)
        var packed: [(pack: Int, number: Int, slot: Int)] = []
        for (slot, id) in ids.enumerated() {
            if let l = logged[id] { out[slot] = l.info; continue }
            if let head = head(id) {
                if let place = head.unreadPlace, let p = packs.firstIndex(where: { $0 === place.pack }) {
                    packed.append((p, place.number, slot))
                } else {
                    out[slot] = try head.info()
                }
                continue
            }
            if let (p, n) = likelyPackPlace(of: id) { packed.append((p, n, slot)) } else { out[slot] = try info(id) }
        }
        packed.sort { ($0.pack, $0.number) < ($1.pack, $1.number) }
        for p in packed {
            let entry = try packs[p.pack].entry(p.number)
            out[p.slot] = entry.id == ids[p.slot]
                ? try CommitInfo(id: entry.id, generation: entry.generation, encoded: entry.encoded) : try info(ids[p.slot])
        }
        var infos: [CommitInfo] = []
        infos.reserveCapacity(ids.count)
        for (slot, info) in out.enumerated() {
            guard let info else { throw TrellisError(.notFound, "unknown commit \(ids[slot].short)") }
            infos.append(info)
        }
        return infos
    }

    /// Where a commit most likely is: the one candidate in the first pack with any, which is
    /// almost always the commit (callers check once it is read). Nil sends them the general way.
    private func likelyPackPlace(of id: CommitID) -> (pack: Int, number: Int)? {
        let found = packs.indices.lazy.map { p in (p, self.packs[p].candidates(for: id)) }.first { !$0.1.isEmpty }
        guard let (p, candidates) = found, candidates.count == 1, let n = candidates.first else { return nil }
        return (p, Int(n))
    }

    /// The stored bytes and signatures of `ids`, in their order, decoding nothing (what sync
    /// sends). Log frames are read once each; pack entries in pack order, as `infos` reads them.
    func wireCommits(_ ids: [CommitID]) throws(TrellisError) -> [WireCommit] {
        var out = [WireCommit?](repeating: nil, count: ids.count)
        var byFrame: [UInt64: [(slot: Int, position: Int)]] = [:]
        var packed: [(pack: Int, number: Int, slot: Int)] = []
        for (slot, id) in ids.enumerated() {
            if let l = logged[id] {
                if let pending = l.pending { out[slot] = WireCommit(pending) } else { byFrame[l.frameOffset, default: []].append((slot, l.position)) }
            } else if let (p, n) = likelyPackPlace(of: id) {
                packed.append((p, n, slot))
            } else {
                guard let c = try signedCommit(id) else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
                out[slot] = WireCommit(c)
            }
        }
        for (offset, wanted) in byFrame.sorted(by: { $0.key < $1.key }) {
            let contents = try frame(at: offset)
            for w in wanted {
                try check(ids[w.slot], at: w.position, of: contents, offset: offset)
                let e = contents.entries[w.position]
                out[w.slot] = WireCommit(encoded: Array(contents.raw[e.encoded]), signature: Array(contents.raw[e.signature]))
            }
        }
        packed.sort { ($0.pack, $0.number) < ($1.pack, $1.number) }
        for p in packed {
            let entry = try packs[p.pack].entry(p.number)
            if entry.id == ids[p.slot] {
                out[p.slot] = WireCommit(encoded: entry.encoded, signature: entry.signature)
            } else {
                guard let c = try signedCommit(ids[p.slot]) else { throw TrellisError(.notFound, "unknown commit \(ids[p.slot].short)") }
                out[p.slot] = WireCommit(c)
            }
        }
        return out.compactMap { $0 }
    }

    /// Many commits at once: each log frame is read once, however many of its commits are
    /// asked for and in whatever order.
    func signedCommits(_ ids: [CommitID]) throws(TrellisError) -> [SignedCommit] {
        var byFrame: [UInt64: [(slot: Int, position: Int)]] = [:]
        var out = [SignedCommit?](repeating: nil, count: ids.count)
        for (slot, id) in ids.enumerated() {
            if let l = logged[id], l.pending == nil {
                byFrame[l.frameOffset, default: []].append((slot, l.position))
            } else {
                guard let c = try signedCommit(id) else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
                out[slot] = c
            }
        }
        for (offset, wanted) in byFrame.sorted(by: { $0.key < $1.key }) {
            let contents = try frame(at: offset)
            for w in wanted { out[w.slot] = try decode(ids[w.slot], at: w.position, of: contents, offset: offset) }
        }
        return out.compactMap { $0 }
    }

    func document(of id: CommitID) throws(TrellisError) -> Document? {
        if let head = head(id) { return try head.commit().document }
        guard let c = try signedCommit(id) else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
        return c.commit.document
    }

    /// Every commit of the repository.
    func allCommits() throws(TrellisError) -> [CommitInfo] {
        var seen = Set<CommitID>()
        var out: [CommitInfo] = []
        for pack in packs {
            _ = try pack.forEachReadableEntry { _, e throws(TrellisError) in
                if seen.insert(e.id).inserted { out.append(try CommitInfo(id: e.id, generation: e.generation, encoded: e.encoded)) }
            }
        }
        for (id, l) in logged where seen.insert(id).inserted { out.append(l.info) }
        return out
    }

    func ids(withHexPrefix hex: String) -> [CommitID] {
        var found = Set(logged.keys.filter { $0.hex.hasPrefix(hex) })
        for pack in packs { found.formUnion(pack.ids(withHexPrefix: hex)) }
        return Array(found)
    }

    // MARK: Replacing files (under the write lock)

    func replaceLog(_ newLog: LogFile) {
        log = newLog
        frameCache = []
        logged = [:]
        loggedOrder = []
        pendingIDs = []
    }

    func replacePacks(_ newPacks: [PackReader]) { packs = newPacks }

    func checkpointWritten() { checkpointIsCurrent = true }

    func takeWarnings() -> [String] {
        defer { warnings = [] }
        return warnings
    }
}

extension RepositoryIndex: RecordIndex {
    func document(ofHead id: CommitID, key: String) throws(TrellisError) -> Document? {
        if let head = head(id, of: key) { return try head.commit().document }
        return try document(of: id)
    }

    func parents(of id: CommitID) throws(TrellisError) -> [CommitID] { try info(id)?.parents ?? [] }

    func generation(of id: CommitID) throws(TrellisError) -> UInt32 {
        if let l = logged[id] { return l.info.generation }
        if let head = head(id) { return head.generation }
        for pack in packs {
            if let n = pack.entryNumber(of: id) { return try pack.generation(of: n) }
        }
        return 0
    }

    func side(of id: CommitID) throws(TrellisError) -> MergeSide {
        guard let info = try info(id) else { throw TrellisError(.notFound, "unknown commit \(id.short)") }
        return MergeSide(document: try document(of: id), timestamp: info.timestamp, id: id)
    }
}

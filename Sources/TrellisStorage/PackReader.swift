#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrellisCore
import TrellisCrypto

/// One entry of a pack as stored: a whole encoding or a delta, not yet resolved.
struct RawPackEntry {
    let generation: UInt32
    let seq: UInt64
    /// 0 for a whole encoding, else how many entries back the delta's base is.
    let distance: Int
    let payload: ArraySlice<UInt8>
    let signature: ArraySlice<UInt8>
}

/// A resolved pack entry.
struct PackEntry {
    let id: CommitID
    let generation: UInt32
    let seq: UInt64
    let encoded: [UInt8]
    let signature: [UInt8]
    /// How many entries back the delta base is; 0 for a whole encoding.
    var distance = 0
}

/// A sealed pack opened for reading (docs/format.md §Packs). Lookups by id binary-search the
/// index; a pack whose index is missing or damaged is indexed in memory by walking its blocks,
/// and `indexProblem` says why.
final class PackReader {
    let path: String
    let checksum: [UInt8]
    let entryCount: Int
    /// One more than the largest arrival number in the pack (0 when empty).
    let seqEnd: UInt64
    let fileSize: UInt64
    private(set) var indexProblem: String?

    private let file: FileHandle
    private let dictionary: [UInt8]
    private let blocksStart: UInt64
    private var fanout: [UInt32] = []
    /// The first 8 bytes of the ids, in the order of the whole ids (docs/format.md §Pack indexes).
    private var prefixes: [UInt64] = []
    private var entryNumbers: [UInt32] = []
    private(set) var blocks: [(offset: UInt64, first: Int, crc: UInt32)] = []
    private var blockCache: [Int: [RawPackEntry]] = [:]
    private var resolved: [Int: (CommitID, [UInt8])] = [:]
    /// Decompressed bytes of the cached blocks. History reads jump between blocks (a log is
    /// sorted by time, a pack by key), so the cache holds a whole small pack.
    private var blockCacheBytes = 0
    private let blockCacheLimit: Int
    private let resolvedCacheLimit: Int

    var indexPath: String { PackReader.indexPath(forPack: path) }
    static func indexPath(forPack path: String) -> String { String(path.dropLast(".pack".count)) + ".idx" }

    /// `blockCacheLimit`: decompressed bytes of blocks kept for later reads; `resolvedCacheLimit`:
    /// entries kept rebuilt from their deltas.
    init(path: String, blockCacheLimit: Int = 16 << 20, resolvedCacheLimit: Int = 8192) throws(TrellisError) {
        self.path = path
        self.blockCacheLimit = blockCacheLimit
        self.resolvedCacheLimit = resolvedCacheLimit
        file = try FileHandle(path: path, flags: O_RDONLY)
        fileSize = try file.size()
        let headerSize = PackFormat.headerSize
        let head = try file.read(at: 0, count: headerSize)
        guard head.count == headerSize, Array(head[0..<8]) == PackFormat.packMagic else {
            throw TrellisError(.corruptData, "\(path) is not a Trellis pack (bad header)")
        }
        var r = ByteReader(head, offset: 8)
        entryCount = Int(try r.u32())
        let dictLength = Int(try r.u32())
        seqEnd = try r.u64()
        guard dictLength <= PackFormat.maxDictionary, UInt64(headerSize + dictLength + PackFormat.checksumSize) <= fileSize else {
            throw TrellisError(.corruptData, "\(path): dictionary length out of range")
        }
        dictionary = try file.read(at: UInt64(headerSize), count: dictLength)
        blocksStart = UInt64(headerSize + dictLength)
        checksum = try file.read(at: fileSize - UInt64(PackFormat.checksumSize), count: PackFormat.checksumSize)
        do throws(TrellisError) {
            try loadIndex()
        } catch {
            indexProblem = error.message
            indexByScanning()
        }
    }

    /// Another reader of the same pack, with caches of its own (for a thread of its own, as
    /// repack's) and this one's file and index, which never change once read.
    init(sharing other: PackReader, blockCacheLimit: Int, resolvedCacheLimit: Int) {
        (path, file, fileSize, checksum, entryCount, seqEnd) = (other.path, other.file, other.fileSize, other.checksum, other.entryCount, other.seqEnd)
        (dictionary, blocksStart, indexProblem) = (other.dictionary, other.blocksStart, other.indexProblem)
        (fanout, prefixes, entryNumbers, blocks) = (other.fanout, other.prefixes, other.entryNumbers, other.blocks)
        (self.blockCacheLimit, self.resolvedCacheLimit) = (blockCacheLimit, resolvedCacheLimit)
    }

    // MARK: The index

    private func loadIndex() throws(TrellisError) {
        let bytes = try FileSystem.readAll(indexPath)
        let n = entryCount
        let fixed = 8 + 32 + 1024
        guard bytes.count >= 8, let width = PackFormat.indexIDWidth[Array(bytes[0..<8])],
              bytes.count >= fixed + n * (width + 4) + 4 + 32 else {
            throw TrellisError(.corruptData, "\(indexPath) is truncated or not a pack index")
        }
        guard Array(bytes[8..<40]) == checksum else { throw TrellisError(.corruptData, "\(indexPath) belongs to another pack") }
        let body = bytes[..<(bytes.count - 32)]
        guard Blake2b256.hash(body) == Array(bytes[(bytes.count - 32)...]) else {
            throw TrellisError(.corruptData, "\(indexPath) checksum mismatch")
        }
        var r = ByteReader(bytes, offset: 40)
        var fan: [UInt32] = []
        fan.reserveCapacity(256)
        var previous: UInt32 = 0
        for _ in 0..<256 {
            let v = try r.u32()
            guard v >= previous else { throw TrellisError(.corruptData, "\(indexPath): fanout is not monotonic") }
            fan.append(v)
            previous = v
        }
        guard Int(previous) == n else { throw TrellisError(.corruptData, "\(indexPath): fanout does not match the pack") }
        // Sizes were checked above: the ids and entry numbers lie inside `bytes`. Only the first
        // 8 bytes of each id are kept; a lookup confirms a match by its entry's hash.
        let idsStart = fixed
        let numbersStart = idsStart + n * width
        let (keys, numbers) = bytes.withUnsafeBytes { raw in
            ((0..<n).map { i in UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: idsStart + i * width, as: UInt64.self)) },
             (0..<n).map { i in UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: numbersStart + i * 4, as: UInt32.self)) })
        }
        guard zip(keys, keys.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw TrellisError(.corruptData, "\(indexPath): ids are not sorted")
        }
        guard numbers.allSatisfy({ Int($0) < n }) else { throw TrellisError(.corruptData, "\(indexPath): entry number out of range") }
        r = ByteReader(bytes, offset: numbersStart + n * 4)
        let blockCount = Int(try r.u32())
        guard r.remaining == blockCount * 16 + 32 else { throw TrellisError(.corruptData, "\(indexPath): wrong length") }
        var table: [(offset: UInt64, first: Int, crc: UInt32)] = []
        for _ in 0..<blockCount {
            let offset = try r.u64(), first = Int(try r.u32()), crc = try r.u32()
            guard offset >= blocksStart, offset < fileSize, first < n, first >= (table.last.map { $0.first + 1 } ?? 0) else {
                throw TrellisError(.corruptData, "\(indexPath): block table out of range")
            }
            table.append((offset, first, crc))
        }
        guard (table.first?.first ?? 0) == 0, n == 0 || !table.isEmpty else {
            throw TrellisError(.corruptData, "\(indexPath): block table does not start at entry 0")
        }
        fanout = fan
        prefixes = keys
        entryNumbers = numbers
        blocks = table
    }

    /// Builds the index in memory by reading the blocks (a missing or damaged `.idx`). Blocks
    /// after a damaged one cannot be placed without an index, so they are left out and the
    /// reason is added to `indexProblem`.
    private func indexByScanning() {
        var table: [(offset: UInt64, first: Int, crc: UInt32)] = []
        var offset = blocksStart
        var first = 0
        let end = fileSize - UInt64(PackFormat.checksumSize)
        while offset < end {
            do throws(TrellisError) {
                let (entries, next, crc) = try readBlock(at: offset, expectedFirst: first)
                table.append((offset, first, crc))
                first += entries.count
                offset = next
            } catch {
                indexProblem = (indexProblem.map { $0 + "; " } ?? "") + "blocks from offset \(offset) on are unreadable: \(error.message)"
                break
            }
        }
        blocks = table
        var ids = salvageEntries { _ in }.map { ($0.1.id, UInt32($0.0)) }
        ids.sort { $0.0 < $1.0 }
        var fan = [UInt32](repeating: 0, count: 256)
        for (id, _) in ids { fan[Int(id.firstByte)] += 1 }
        for b in 1..<256 { fan[b] += fan[b - 1] }
        fanout = fan
        prefixes = ids.map(\.0.prefix)
        entryNumbers = ids.map(\.1)
    }

    // MARK: Lookups

    /// Entry numbers whose ids start with the same 8 bytes as `id`: usually none or one, and
    /// the one is `id` unless its entry says otherwise. Fsck compares these with the entries.
    func candidates(for id: CommitID) -> ArraySlice<UInt32> {
        let b = Int(id.firstByte), key = id.prefix
        var lo = b == 0 ? 0 : Int(fanout[b - 1]), hi = Int(fanout[b])
        let end = hi
        while lo < hi {
            let mid = (lo + hi) / 2
            if prefixes[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        var last = lo
        while last < end && prefixes[last] == key { last += 1 }
        return entryNumbers[lo..<last]
    }

    /// The entry number of `id`: a candidate whose entry rebuilds to it (an unreadable entry
    /// is not a match).
    func entryNumber(of id: CommitID) -> Int? {
        for n in candidates(for: id) {
            if let (found, _) = try? resolve(Int(n)), found == id { return Int(n) }
        }
        return nil
    }

    func contains(_ id: CommitID) -> Bool { entryNumber(of: id) != nil }

    /// Ids that start with the given hex digits (for resolving abbreviated ids).
    func ids(withHexPrefix hex: String) -> [CommitID] {
        guard let first = UInt8(hex.prefix(2), radix: 16) else { return [] }
        let lo = first == 0 ? 0 : Int(fanout[Int(first) - 1]), hi = Int(fanout[Int(first)])
        let short = String(hex.prefix(16))
        func digits(_ word: UInt64) -> String {
            let d = String(word, radix: 16)
            return String(repeating: "0", count: 16 - d.count) + d
        }
        var out: [CommitID] = []
        for i in lo..<hi where digits(prefixes[i]).hasPrefix(short) {
            if let (id, _) = try? resolve(Int(entryNumbers[i])), id.hex.hasPrefix(hex) { out.append(id) }
        }
        return out
    }

    /// The commit with this id, or nil when the pack does not hold it.
    func entry(for id: CommitID) throws(TrellisError) -> PackEntry? {
        guard let number = entryNumber(of: id) else { return nil }
        let entry = try self.entry(number)
        guard entry.id == id else {
            throw TrellisError(.corruptData, "\(path): entry \(number) does not hash to \(id.short) (damaged pack or index; run `trellis fsck --repair`)")
        }
        return entry
    }

    func entry(_ number: Int) throws(TrellisError) -> PackEntry {
        let raw = try rawEntry(number)
        let (id, encoded) = try resolve(number)
        return PackEntry(id: id, generation: raw.generation, seq: raw.seq, encoded: encoded, signature: Array(raw.signature))
    }

    func generation(of number: Int) throws(TrellisError) -> UInt32 { try rawEntry(number).generation }

    private func rawEntry(_ number: Int) throws(TrellisError) -> RawPackEntry {
        guard number >= 0, number < entryCount, !blocks.isEmpty else {
            throw TrellisError(.corruptData, "\(path): entry \(number) is in no readable block")
        }
        var lo = 0, hi = blocks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if blocks[mid].first <= number { lo = mid } else { hi = mid - 1 }
        }
        let entries = try block(lo)
        let index = number - blocks[lo].first
        guard index < entries.count else { throw TrellisError(.corruptData, "\(path): entry \(number) is not in its block") }
        return entries[index]
    }

    /// Rebuilds an entry's encoding, walking its delta chain back to a whole encoding.
    private func resolve(_ number: Int) throws(TrellisError) -> (CommitID, [UInt8]) {
        if let hit = resolved[number] { return hit }
        var chain: [(Int, RawPackEntry)] = []
        var current = number
        var base: (CommitID, [UInt8])? = nil
        while true {
            if let hit = resolved[current] { base = hit; break }
            let raw = try rawEntry(current)
            chain.append((current, raw))
            if raw.distance == 0 { break }
            guard raw.distance <= current, chain.count <= 10_000 else {
                throw TrellisError(.corruptData, "\(path): entry \(current) has a bad delta base")
            }
            current -= raw.distance
        }
        var result = base
        for (n, raw) in chain.reversed() {
            let encoded: [UInt8]
            if let b = result {
                encoded = try Delta.apply(raw.payload, base: b.1, baseID: b.0)
            } else {
                encoded = Array(raw.payload)
            }
            let value = (CommitID.of(encoded), encoded)
            if resolved.count >= resolvedCacheLimit { resolved.removeAll(keepingCapacity: true) }
            resolved[n] = value
            result = value
        }
        // safe: the chain has at least one entry or a cached base.
        return result!
    }

    func rawBlock(_ b: Int) throws(TrellisError) -> [RawPackEntry] { try block(b) }

    private func block(_ b: Int) throws(TrellisError) -> [RawPackEntry] {
        if let hit = blockCache[b] { return hit }
        let (entries, _, _) = try readBlock(at: blocks[b].offset, expectedFirst: blocks[b].first)
        let size = entries.reduce(0) { $0 + $1.payload.count + $1.signature.count }
        if blockCacheBytes + size > blockCacheLimit {
            blockCache.removeAll(keepingCapacity: true)
            blockCacheBytes = 0
        }
        blockCache[b] = entries
        blockCacheBytes += size
        return entries
    }

    /// Reads, checks and parses one block; returns its entries, where the next block starts and its CRC.
    private func readBlock(at offset: UInt64, expectedFirst: Int) throws(TrellisError) -> ([RawPackEntry], UInt64, UInt32) {
        let end = fileSize - UInt64(PackFormat.checksumSize)
        guard offset + UInt64(PackFormat.blockHeaderSize) <= end else {
            throw TrellisError(.corruptData, "\(path) offset \(offset): truncated block header", cause: .init(path: path, offset: offset))
        }
        let header = try file.read(at: offset, count: PackFormat.blockHeaderSize)
        guard Array(header[0..<4]) == PackFormat.blockMagic else { throw TrellisError(.corruptData, "\(path) offset \(offset): bad block magic", cause: .init(path: path, offset: offset)) }
        var r = ByteReader(header, offset: 4)
        let count = Int(try r.u32()), payloadLength = Int(try r.u32()), rawLength = Int(try r.u32()), crc = try r.u32()
        guard count >= 1, expectedFirst + count <= entryCount, rawLength <= PackFormat.maxBlockRaw,
              offset + UInt64(PackFormat.blockHeaderSize + payloadLength) <= end
        else { throw TrellisError(.corruptData, "\(path) offset \(offset): block lengths out of range", cause: .init(path: path, offset: offset)) }
        let payload = try file.read(at: offset + UInt64(PackFormat.blockHeaderSize), count: payloadLength)
        guard CRC32.checksum(payload, seed: CRC32.checksum(header[4..<16])) == crc else {
            throw TrellisError(.corruptData, "\(path) offset \(offset): block checksum mismatch", cause: .init(path: path, offset: offset))
        }
        let raw = try LZ4.decompress(payload[...], rawLength: rawLength, dictionary: dictionary)
        var br = ByteReader(raw)
        var entries: [RawPackEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let generation = try br.varint()
            let seq = try br.varint()
            guard seq < seqEnd else { throw TrellisError(.corruptData, "\(path) offset \(offset): arrival number out of range", cause: .init(path: path, offset: offset)) }
            let form = try br.u8()
            var distance = 0
            switch form {
            case 0: break
            case 1:
                let d = try br.varint()
                guard d <= UInt64(expectedFirst + entries.count) else {
                    throw TrellisError(.corruptData, "\(path) offset \(offset): delta base before the first entry", cause: .init(path: path, offset: offset))
                }
                distance = Int(d)
                guard distance >= 1 else { throw TrellisError(.corruptData, "\(path) offset \(offset): delta distance 0", cause: .init(path: path, offset: offset)) }
            default: throw TrellisError(.corruptData, "\(path) offset \(offset): unknown entry form \(form)", cause: .init(path: path, offset: offset))
            }
            let payload = try br.raw(try br.length())
            let signature = try br.raw(try br.length())
            guard generation >= 1, generation <= UInt64(UInt32.max), signature.isEmpty || signature.count == 64 else {
                throw TrellisError(.corruptData, "\(path) offset \(offset): bad entry", cause: .init(path: path, offset: offset))
            }
            entries.append(RawPackEntry(generation: UInt32(generation), seq: seq, distance: distance, payload: payload, signature: signature))
        }
        guard br.isAtEnd else { throw TrellisError(.corruptData, "\(path) offset \(offset): trailing bytes in block", cause: .init(path: path, offset: offset)) }
        return (entries, offset + UInt64(PackFormat.blockHeaderSize + payloadLength), crc)
    }

    // MARK: Walking

    /// Visits every entry that can be read: all of them in order, or, in a damaged pack, those
    /// that survive (some may be visited twice). Returns the first problem met, if any.
    func forEachReadableEntry(_ body: (Int, PackEntry) throws(TrellisError) -> Void) throws(TrellisError) -> String? {
        do throws(TrellisError) {
            try forEachEntry(body)
            return nil
        } catch where error.code == .corruptData {
            var first: String? = error.message
            for (number, entry) in salvageEntries(problem: { message in first = first ?? message }) { try body(number, entry) }
            return first
        }
    }

    /// Visits every block in the order of the block table, with its first entry number.
    func forEachBlock(_ body: (Int, [RawPackEntry]) throws(TrellisError) -> Void) throws(TrellisError) {
        var count = 0
        for b in blocks.indices {
            let entries = try block(b)
            try body(blocks[b].first, entries)
            count += entries.count
        }
        guard count == entryCount else { throw TrellisError(.corruptData, "\(path): blocks hold \(count) entries, header says \(entryCount)") }
    }

    /// Visits every entry in pack order, resolved. Bases come earlier, so one pass suffices.
    func forEachEntry(_ body: (Int, PackEntry) throws(TrellisError) -> Void) throws(TrellisError) {
        var recent: [Int: (CommitID, [UInt8])] = [:]
        try forEachBlock { first, entries throws(TrellisError) in
            for (i, raw) in entries.enumerated() {
                let number = first + i
                let encoded: [UInt8]
                if raw.distance == 0 {
                    encoded = Array(raw.payload)
                } else {
                    let baseNumber = number - raw.distance
                    guard baseNumber >= 0 else { throw TrellisError(.corruptData, "\(path): entry \(number) has a bad delta base") }
                    let base: (CommitID, [UInt8])
                    if let hit = recent[baseNumber] { base = hit } else { base = try resolve(baseNumber) }
                    encoded = try Delta.apply(raw.payload, base: base.1, baseID: base.0)
                }
                let id = CommitID.of(encoded)
                // A delta's base is nearly always a few entries back (the same record's last commit).
                if recent.count >= 4096 { recent.removeAll(keepingCapacity: true) }
                recent[number] = (id, encoded)
                try body(number, PackEntry(id: id, generation: raw.generation, seq: raw.seq, encoded: encoded, signature: Array(raw.signature),
                                           distance: raw.distance))
            }
        }
    }

    /// Checks the trailer against the whole file (fsck).
    func verifyChecksum() throws(TrellisError) {
        let body = try file.read(at: 0, count: Int(fileSize) - PackFormat.checksumSize)
        guard Blake2b256.hash(body) == checksum else { throw TrellisError(.corruptData, "\(path): pack checksum mismatch") }
    }
}

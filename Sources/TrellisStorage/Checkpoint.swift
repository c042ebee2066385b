import TrellisCore
import TrellisCrypto

/// A repository's heads over its packs (docs/format.md §Checkpoints): opening reads this
/// instead of replaying history. Version 1 copies each head's encoding (kept as a slice of the
/// file's bytes until used); version 2 names the pack entry that holds it.
struct Checkpoint {
    static let magics: [Int: [UInt8]] = [1: Array("TRLCKP01".utf8), 2: Array("TRLCKP02".utf8)]
    static let magicSize = 8

    struct Head {
        let id: CommitID
        let generation: UInt32
        /// The commit's kind byte (docs/format.md §Commits).
        let kind: UInt8
        /// The canonical encoding: what version 1 holds.
        var encoded: ArraySlice<UInt8>?
        /// The pack (its position among the sorted `packs`) and entry number: what version 2 holds.
        var entry: (pack: Int, number: Int)?
    }

    var version: Int
    /// Checksums of the packs whose commits the heads cover, sorted.
    var packs: [[UInt8]]
    /// Keys in byte order, each with its heads in ascending id order.
    var records: [(key: String, heads: [Head])]

    /// Checksums in the order a checkpoint lists them (heads name packs by place in it).
    static func sorted(_ checksums: [[UInt8]]) -> [[UInt8]] { checksums.sorted { $0.lexicographicallyPrecedes($1) } }

    /// `packs` must be sorted (`Checkpoint.sorted`); each head must carry what the version holds.
    func encoded() throws(TrellisError) -> [UInt8] {
        guard let magic = Checkpoint.magics[version] else { throw TrellisError(.invalidArgument, "unknown checkpoint version \(version)") }
        var w = ByteWriter(capacity: 64 + records.count * (version == 1 ? 400 : 64))
        w.varint(UInt64(packs.count))
        for p in packs { w.raw(p) }
        let sortedRecords = records.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        w.varint(UInt64(sortedRecords.count))
        for record in sortedRecords {
            w.string(record.key)
            w.varint(UInt64(record.heads.count))
            for head in record.heads.sorted(by: { $0.id < $1.id }) {
                head.id.write(to: &w)
                w.varint(UInt64(head.generation))
                if version == 1 {
                    guard let encoded = head.encoded else { throw TrellisError(.corruptData, "checkpoint head \(head.id.short) has no encoding") }
                    w.varint(UInt64(encoded.count))
                    w.raw(encoded)
                } else {
                    guard let entry = head.entry, entry.pack < packs.count else {
                        throw TrellisError(.corruptData, "checkpoint head \(head.id.short) is in no pack")
                    }
                    w.u8(head.kind)
                    w.varint(UInt64(entry.pack))
                    w.varint(UInt64(entry.number))
                }
            }
        }
        var out = ByteWriter(capacity: w.bytes.count / 2)
        out.raw(magic)
        out.u64(UInt64(w.bytes.count))
        out.raw(try LZ4.compress(w.bytes))
        out.raw(Blake2b256.hash(out.bytes))
        return out.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(TrellisError) -> Checkpoint {
        var checkpoint = Checkpoint(version: 0, packs: [], records: [])
        // The pack list is always accepted, so the read returns a version.
        checkpoint.version = try read(bytes, packs: { checkpoint.packs = $0; return true },
                                      records: { checkpoint.records.reserveCapacity($0) }) { key, heads in
            checkpoint.records.append((key, heads))
        } ?? 0
        return checkpoint
    }

    /// Reads a checkpoint without building it whole: `packs` sees the pack checksums first and
    /// may stop the read (false), then `record` gets each record in turn. Returns the version,
    /// or nil when `packs` stopped it.
    @discardableResult
    static func read(_ bytes: [UInt8], packs accept: ([[UInt8]]) -> Bool, records reserve: (Int) -> Void = { _ in },
                     record: (String, [Head]) throws(TrellisError) -> Void) throws(TrellisError) -> Int? {
        guard bytes.count >= magicSize + 8 + PackFormat.checksumSize,
              let version = magics.first(where: { $0.value[...] == bytes[0..<magicSize] })?.key else {
            throw TrellisError(.corruptData, "not a checkpoint")
        }
        let bodyEnd = bytes.count - PackFormat.checksumSize
        guard Blake2b256.hash(bytes[..<bodyEnd]) == Array(bytes[bodyEnd...]) else {
            throw TrellisError(.corruptData, "checkpoint checksum mismatch")
        }
        var lengthReader = ByteReader(bytes, offset: magicSize)
        let rawLength = try lengthReader.u64()
        guard rawLength <= UInt64(Int32.max) else { throw TrellisError(.corruptData, "checkpoint length out of range") }
        let body = try LZ4.decompress(bytes[(magicSize + 8)..<bodyEnd], rawLength: Int(rawLength))
        var r = ByteReader(body)
        var packs: [[UInt8]] = []
        for _ in 0..<(try r.length(elementSize: PackFormat.checksumSize)) { packs.append(Array(try r.raw(PackFormat.checksumSize))) }
        guard accept(packs) else { return nil }
        let count = try r.length(elementSize: 3)
        reserve(count)
        for _ in 0..<count {
            let key = try r.string()
            let headCount = try r.length(elementSize: 34)
            guard headCount >= 1 else { throw TrellisError(.corruptData, "checkpoint record '\(key)' has no heads") }
            var heads: [Head] = []
            for _ in 0..<headCount {
                let id = try r.commitID()
                let generation = try r.varint()
                guard generation >= 1, generation <= UInt64(UInt32.max) else { throw TrellisError(.corruptData, "checkpoint generation out of range") }
                if version == 1 {
                    let encoded = try r.raw(try r.length())
                    let kind = Commit.kindByte(of: encoded)
                    heads.append(Head(id: id, generation: UInt32(generation), kind: kind, encoded: encoded))
                } else {
                    let kind = try r.u8()
                    let pack = try r.varint(), number = try r.varint()
                    guard Commit.Kind(rawValue: kind) != nil, pack < UInt64(packs.count), number < UInt64(UInt32.max) else {
                        throw TrellisError(.corruptData, "checkpoint head \(id.short) names no pack entry")
                    }
                    heads.append(Head(id: id, generation: UInt32(generation), kind: kind, entry: (Int(pack), Int(number))))
                }
            }
            try record(key, heads)
        }
        guard r.isAtEnd else { throw TrellisError(.corruptData, "trailing bytes in checkpoint") }
        return version
    }
}

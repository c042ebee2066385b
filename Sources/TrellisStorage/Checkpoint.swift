import TrellisCore
import TrellisCrypto

/// A repository's heads over its packs (docs/format.md §Checkpoints): opening reads this
/// instead of replaying history. Head encodings stay slices of the file's bytes until used.
struct Checkpoint {
    static let magic: [UInt8] = Array("TRLCKP01".utf8)

    struct Head {
        let id: CommitID
        let generation: UInt32
        let encoded: ArraySlice<UInt8>
    }

    /// Checksums of the packs whose commits the heads cover, sorted.
    var packs: [[UInt8]]
    /// Keys in byte order, each with its heads in ascending id order.
    var records: [(key: String, heads: [Head])]

    func encoded() throws(TrellisError) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + records.count * 400)
        let sortedPacks = packs.sorted { $0.lexicographicallyPrecedes($1) }
        w.varint(UInt64(sortedPacks.count))
        for p in sortedPacks { w.raw(p) }
        let sortedRecords = records.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        w.varint(UInt64(sortedRecords.count))
        for record in sortedRecords {
            w.string(record.key)
            w.varint(UInt64(record.heads.count))
            for head in record.heads.sorted(by: { $0.id < $1.id }) {
                head.id.write(to: &w)
                w.varint(UInt64(head.generation))
                w.varint(UInt64(head.encoded.count))
                w.raw(head.encoded)
            }
        }
        var out = ByteWriter(capacity: w.bytes.count / 2)
        out.raw(Checkpoint.magic)
        out.u64(UInt64(w.bytes.count))
        out.raw(try LZ4.compress(w.bytes))
        out.raw(Blake2b256.hash(out.bytes))
        return out.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(TrellisError) -> Checkpoint {
        guard bytes.count >= magic.count + 8 + PackFormat.checksumSize, Array(bytes[0..<magic.count]) == magic else {
            throw TrellisError(.corruptData, "not a checkpoint")
        }
        let bodyEnd = bytes.count - PackFormat.checksumSize
        guard Blake2b256.hash(Array(bytes[..<bodyEnd])) == Array(bytes[bodyEnd...]) else {
            throw TrellisError(.corruptData, "checkpoint checksum mismatch")
        }
        var lengthReader = ByteReader(bytes, offset: magic.count)
        let rawLength = try lengthReader.u64()
        guard rawLength <= UInt64(Int32.max) else { throw TrellisError(.corruptData, "checkpoint length out of range") }
        let body = try LZ4.decompress(bytes[(magic.count + 8)..<bodyEnd], rawLength: Int(rawLength))
        var r = ByteReader(body)
        var packs: [[UInt8]] = []
        for _ in 0..<(try r.length(elementSize: PackFormat.checksumSize)) { packs.append(Array(try r.raw(PackFormat.checksumSize))) }
        let count = try r.length(elementSize: 3)
        var records: [(key: String, heads: [Head])] = []
        records.reserveCapacity(count)
        for _ in 0..<count {
            let key = try r.string()
            let headCount = try r.length(elementSize: 34)
            guard headCount >= 1 else { throw TrellisError(.corruptData, "checkpoint record '\(key)' has no heads") }
            var heads: [Head] = []
            for _ in 0..<headCount {
                let id = try r.commitID()
                let generation = try r.varint()
                guard generation >= 1, generation <= UInt64(UInt32.max) else { throw TrellisError(.corruptData, "checkpoint generation out of range") }
                heads.append(Head(id: id, generation: UInt32(generation), encoded: try r.raw(try r.length())))
            }
            records.append((key, heads))
        }
        guard r.isAtEnd else { throw TrellisError(.corruptData, "trailing bytes in checkpoint") }
        return Checkpoint(packs: packs, records: records)
    }
}

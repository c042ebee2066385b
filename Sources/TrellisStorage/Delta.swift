import TrellisCore

/// Binary deltas between commit encodings (docs/format.md §Deltas): copies from the base,
/// literal runs, and one op for the base's own id, because a commit's parent id is exactly
/// what its base (that parent) does not contain.
enum Delta {
    private static let minimumMatch = 6
    private static let tableBits = 10

    static func make(target: [UInt8], base: [UInt8], baseID: CommitID) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.varint(UInt64(target.count))
        let idBytes = baseID.bytes
        var table = [Int32](repeating: -1, count: 1 << tableBits)
        if base.count >= 4 {
            for i in 0...(base.count - 4) { table[hash(base, i)] = Int32(i) }
        }
        var literalStart = 0
        var i = 0
        func flushLiterals(upTo end: Int) {
            var start = literalStart
            while start < end {
                let n = min(127, end - start)
                w.u8(UInt8(n))
                w.raw(target[start..<start + n])
                start += n
            }
        }
        while i < target.count {
            if target[i] == idBytes[0], i + CommitID.size <= target.count, target[i..<i + CommitID.size].elementsEqual(idBytes) {
                flushLiterals(upTo: i)
                w.u8(0x00)
                i += CommitID.size
                literalStart = i
                continue
            }
            if i + 4 <= target.count {
                let candidate = Int(table[hash(target, i)])
                if candidate >= 0 {
                    var length = 0
                    while candidate + length < base.count, i + length < target.count, base[candidate + length] == target[i + length] {
                        length += 1
                    }
                    if length >= minimumMatch {
                        // Grow the match backwards over literals not yet written.
                        var back = 0
                        while i - back > literalStart, candidate - back > 0, base[candidate - back - 1] == target[i - back - 1] {
                            back += 1
                        }
                        flushLiterals(upTo: i - back)
                        w.u8(0x80)
                        w.varint(UInt64(candidate - back))
                        w.varint(UInt64(length + back))
                        i += length
                        literalStart = i
                        continue
                    }
                }
            }
            i += 1
        }
        flushLiterals(upTo: target.count)
        return w.bytes
    }

    static func apply(_ delta: ArraySlice<UInt8>, base: [UInt8], baseID: CommitID) throws(TrellisError) -> [UInt8] {
        var r = ByteReader(Array(delta))
        let stated = try r.varint()
        guard stated <= UInt64(PackFormat.maxBlockRaw) else { throw TrellisError(.corruptData, "delta target length out of range") }
        let targetLength = Int(stated)
        var out: [UInt8] = []
        out.reserveCapacity(targetLength)
        while !r.isAtEnd {
            let op = try r.u8()
            switch op {
            case 0x00:
                out.append(contentsOf: baseID.bytes)
            case 0x01...0x7F:
                out.append(contentsOf: try r.raw(Int(op)))
            case 0x80:
                let offset = try r.varint(), length = try r.varint()
                guard length >= 1, offset <= UInt64(base.count), length <= UInt64(base.count) - offset else {
                    throw TrellisError(.corruptData, "delta copies outside its base")
                }
                out.append(contentsOf: base[Int(offset)..<Int(offset + length)])
            default:
                throw TrellisError(.corruptData, "invalid delta instruction \(op)")
            }
            guard out.count <= targetLength else { throw TrellisError(.corruptData, "delta overruns its stated length") }
        }
        guard out.count == targetLength else { throw TrellisError(.corruptData, "delta result has the wrong length") }
        return out
    }

    private static func hash(_ bytes: [UInt8], _ i: Int) -> Int {
        let v = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
        return Int((v &* 2_654_435_761) >> UInt32(32 - tableBits))
    }
}

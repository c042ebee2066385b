// Checksum-aware mutation (docs/fuzzing.md): a mutated bundle, pack, index, checkpoint or log
// almost always fails its checksum, so random mutations alone never reach the decoding behind
// it. After libFuzzer mutates an input, `Reseal.fix` recomputes the input's checksums so that
// the mutated bytes get past them: every frame's and block's CRC, every BLAKE2b trailer.
@testable import TrellisCore
import TrellisCrypto
@testable import TrellisStorage

enum Reseal {
    /// Recomputes `bytes`' checksums in place (same length) for the harnesses whose inputs have
    /// them; returns false for the others.
    @discardableResult
    static func fix(_ harness: Harness, _ bytes: inout [UInt8]) -> Bool {
        switch harness {
        case .bundle, .checkpoint:
            trailer(&bytes)
        case .index:
            // The index must also name the scratch pack it is opened with.
            if bytes.count >= 40, let pack = try? FileSystem.readAll(Scratch.pack), pack.count >= 32 {
                bytes.replaceSubrange(8..<40, with: pack.suffix(32))
            }
            trailer(&bytes)
        case .log:
            crcs(&bytes, magic: Frame.magic, headerSize: Frame.headerSize, lengths: 4..<12, crcAt: 12, payloadLengthAt: 4)
        case .pack:
            crcs(&bytes, magic: PackFormat.blockMagic, headerSize: PackFormat.blockHeaderSize, lengths: 4..<16, crcAt: 16, payloadLengthAt: 8)
            trailer(&bytes)
        case .json, .commit, .value, .sync, .server:
            return false
        }
        return true
    }

    /// The last 32 bytes: BLAKE2b-256 of everything before them.
    private static func trailer(_ bytes: inout [UInt8]) {
        guard bytes.count > 32 else { return }
        let body = Array(bytes.dropLast(32))
        bytes.replaceSubrange((bytes.count - 32)..., with: Blake2b256.hash(body))
    }

    /// At every `magic` whose payload fits in the input: the CRC-32 of the header's length
    /// fields and the payload, stored big-endian at `crcAt`.
    private static func crcs(_ bytes: inout [UInt8], magic: [UInt8], headerSize: Int, lengths: Range<Int>,
                             crcAt: Int, payloadLengthAt: Int) {
        var i = 0
        while let at = find(magic, in: bytes, from: i) {
            i = at + 1
            guard at + headerSize <= bytes.count else { break }
            var r = ByteReader(bytes, offset: at + payloadLengthAt)
            guard let payload = try? r.u32(), at + headerSize + Int(payload) <= bytes.count else { continue }
            let fields = bytes[(at + lengths.lowerBound)..<(at + lengths.upperBound)]
            let crc = CRC32.checksum(bytes[(at + headerSize)..<(at + headerSize + Int(payload))], seed: CRC32.checksum(fields))
            for k in 0..<4 { bytes[at + crcAt + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(3 - k))) }
        }
    }

    private static func find(_ magic: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= magic.count, start <= bytes.count - magic.count else { return nil }
        for i in start...(bytes.count - magic.count) where bytes[i] == magic[0] && Array(bytes[i..<(i + magic.count)]) == magic {
            return i
        }
        return nil
    }
}

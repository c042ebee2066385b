internal import TrellisLZ4
import TrellisCore

/// LZ4 block format (liblz4), no frame header: our frames carry the lengths themselves.
enum LZ4 {
    static func compress(_ input: [UInt8]) throws(TrellisError) -> [UInt8] {
        guard input.count <= Int(LZ4_MAX_INPUT_SIZE) else {
            throw TrellisError(.invalidArgument, "a frame of \(input.count) bytes is too large to compress")
        }
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        var out = [UInt8](repeating: 0, count: max(bound, 1))
        let written = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                LZ4_compress_default(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress?.assumingMemoryBound(to: CChar.self),
                    Int32(input.count), Int32(dst.count))
            }
        }
        guard written > 0 || input.isEmpty else { throw TrellisError(.io, "LZ4 compression failed") }
        out.removeSubrange(Int(written)...)
        return out
    }

    /// Decompresses to exactly `rawLength` bytes or throws; safe against hostile input.
    static func decompress(_ input: ArraySlice<UInt8>, rawLength: Int) throws(TrellisError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(rawLength, 1))
        let n = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                LZ4_decompress_safe(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress?.assumingMemoryBound(to: CChar.self),
                    Int32(src.count), Int32(rawLength))
            }
        }
        guard n == rawLength else { throw TrellisError(.corruptData, "LZ4 block does not decompress to its stated length") }
        out.removeSubrange(rawLength...)
        return out
    }
}

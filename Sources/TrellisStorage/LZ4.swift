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
        try checkStated(rawLength, input.count)
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

extension LZ4 {
    /// An LZ4 block expands at most about 255 times (a match's length grows by 255 per extra
    /// byte), so a stated length beyond that is damage: refused before the output is allocated,
    /// so that a damaged length field never makes a reader allocate gigabytes.
    static func checkStated(_ rawLength: Int, _ inputCount: Int) throws(TrellisError) {
        guard rawLength >= 0, rawLength <= Int(Int32.max), rawLength <= inputCount * 255 + 64 else {
            throw TrellisError(.corruptData, "LZ4 block states \(rawLength) bytes, more than its \(inputCount) bytes can hold")
        }
    }

    /// How hard to compress. Both give the same block format, read by the same decompressor.
    enum Effort {
        /// `LZ4_compress_fast_continue`: for seals, on the write path.
        case fast
        /// LZ4 HC (`LZ4_compress_HC_continue`, level 9): for repack and repair, which run offline.
        case high
    }

    /// Compresses blocks that share a dictionary: each block is compressed on its own (so it can
    /// be read alone) with the dictionary as its prefix. Debian's liblz4 lacks
    /// `LZ4_attach_dictionary`, so the dictionary is loaded again for each block.
    final class DictionaryCompressor {
        static let highLevel: Int32 = 9
        private let fast: UnsafeMutablePointer<LZ4_stream_t>?
        private let high: UnsafeMutablePointer<LZ4_streamHC_t>?
        private let dictionary: [UInt8]

        init(dictionary: [UInt8], effort: Effort = .fast) throws(TrellisError) {
            switch effort {
            case .fast:
                fast = LZ4_createStream()
                high = nil
            case .high:
                fast = nil
                high = LZ4_createStreamHC()
                if let high { LZ4_resetStreamHC_fast(high, Self.highLevel) }
            }
            guard fast != nil || high != nil else { throw TrellisError(.io, "cannot allocate an LZ4 stream") }
            self.dictionary = dictionary
        }

        deinit {
            if let fast { LZ4_freeStream(fast) }
            if let high { LZ4_freeStreamHC(high) }
        }

        func compress(_ input: [UInt8]) throws(TrellisError) -> [UInt8] {
            guard input.count <= Int(LZ4_MAX_INPUT_SIZE) else {
                throw TrellisError(.invalidArgument, "a block of \(input.count) bytes is too large to compress")
            }
            var out = [UInt8](repeating: 0, count: max(Int(LZ4_compressBound(Int32(input.count))), 1))
            let written = dictionary.withUnsafeBytes { dict in
                let d = dict.baseAddress?.assumingMemoryBound(to: CChar.self)
                return input.withUnsafeBytes { src in
                    out.withUnsafeMutableBytes { dst in
                        let s = src.baseAddress?.assumingMemoryBound(to: CChar.self), o = dst.baseAddress?.assumingMemoryBound(to: CChar.self)
                        if let high {
                            LZ4_loadDictHC(high, d, Int32(dict.count))
                            return LZ4_compress_HC_continue(high, s, o, Int32(input.count), Int32(dst.count))
                        }
                        LZ4_loadDict(fast, d, Int32(dict.count))
                        return LZ4_compress_fast_continue(fast, s, o, Int32(input.count), Int32(dst.count), 1)
                    }
                }
            }
            guard written > 0 || input.isEmpty else { throw TrellisError(.io, "LZ4 compression failed") }
            out.removeSubrange(Int(written)...)
            return out
        }
    }

    /// Decompresses a block compressed with `dictionary` as its prefix; safe against hostile input.
    static func decompress(_ input: ArraySlice<UInt8>, rawLength: Int, dictionary: [UInt8]) throws(TrellisError) -> [UInt8] {
        try checkStated(rawLength, input.count)
        var out = [UInt8](repeating: 0, count: max(rawLength, 1))
        let n = dictionary.withUnsafeBytes { dict in
            input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    LZ4_decompress_safe_usingDict(
                        src.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress?.assumingMemoryBound(to: CChar.self),
                        Int32(src.count), Int32(rawLength), dict.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(dict.count))
                }
            }
        }
        guard n == rawLength else { throw TrellisError(.corruptData, "LZ4 block does not decompress to its stated length") }
        out.removeSubrange(rawLength...)
        return out
    }
}

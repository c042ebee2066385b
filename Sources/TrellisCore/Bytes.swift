/// Where the canonical encoder writes: a growing array (`ByteWriter`), a count of the bytes
/// it would write (`ByteCounter`), or memory sized by that count (`FixedByteWriter`), so that
/// a commit's encoding is written once into an array of exactly its size.
package protocol ByteSink {
    mutating func u8(_ v: UInt8)
    mutating func append(_ bytes: UnsafeRawBufferPointer)
    mutating func u32(_ v: UInt32)
    mutating func u64(_ v: UInt64)
    mutating func varint(_ v: UInt64)
    mutating func string(_ s: String)
}

extension ByteSink {
    package mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { append($0) } }
    package mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { append($0) } }

    /// Unsigned LEB128.
    package mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            u8(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        u8(UInt8(v))
    }

    /// Zig-zag then LEB128, so small negative numbers stay short.
    package mutating func signedVarint(_ v: Int64) {
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    package mutating func raw(_ b: [UInt8]) { b.withUnsafeBytes { append($0) } }

    /// Length-prefixed UTF-8.
    package mutating func string(_ s: String) {
        varint(UInt64(s.utf8.count))
        // Native strings lend their bytes: one copy instead of a walk of the UTF-8 view.
        if s.utf8.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) == nil {
            for b in s.utf8 { u8(b) }
        }
    }
}

/// Counts the bytes an encoding takes.
package struct ByteCounter: ByteSink {
    package private(set) var count = 0
    package init() {}
    package mutating func u8(_ v: UInt8) { count += 1 }
    package mutating func append(_ bytes: UnsafeRawBufferPointer) { count += bytes.count }
    package mutating func u32(_ v: UInt32) { count += 4 }
    package mutating func u64(_ v: UInt64) { count += 8 }
    package mutating func varint(_ v: UInt64) { count += ByteCounter.varintSize(v) }
    @inline(__always) static func varintSize(_ v: UInt64) -> Int { (64 - (v | 1).leadingZeroBitCount + 6) / 7 }
    package mutating func string(_ s: String) {
        let n = s.utf8.count
        varint(UInt64(n))
        count += n
    }
}

/// Writes into memory of a fixed size. What does not fit is dropped, never written past the
/// end, and `overflowed` says so: the caller then counts (`ByteCounter`) and writes again.
package struct FixedByteWriter: ByteSink {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    package private(set) var count = 0
    package private(set) var overflowed = false
    package init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }
    package mutating func u8(_ v: UInt8) {
        guard count < buffer.count else { overflowed = true; return }
        buffer[count] = v
        count &+= 1
    }
    /// One bounds check for the whole varint, not one per byte.
    package mutating func varint(_ v: UInt64) {
        guard ByteCounter.varintSize(v) <= buffer.count - count else { overflowed = true; return }
        var v = v, i = count
        while v >= 0x80 {
            buffer[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i &+= 1
        }
        buffer[i] = UInt8(v)
        count = i &+ 1
    }
    /// Length-prefixed UTF-8, copied by the UTF-8 view itself (small strings included).
    package mutating func string(_ s: String) {
        let n = s.utf8.count
        varint(UInt64(n))
        guard n <= buffer.count - count else { overflowed = true; return }
        let (_, copied) = UnsafeMutableBufferPointer(rebasing: buffer[count...]).initialize(from: s.utf8)
        count &+= copied
    }
    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= buffer.count - count else { overflowed = true; return }
        guard let source = bytes.baseAddress, let target = buffer.baseAddress else { return }
        (target + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count &+= bytes.count
    }
}

/// Appends the primitive fields of the canonical formats (docs/format.md).
package struct ByteWriter: ByteSink {
    package private(set) var bytes: [UInt8] = []

    package init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    package mutating func u8(_ v: UInt8) { bytes.append(v) }

    package mutating func append(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }

    package mutating func raw(_ b: some Collection<UInt8>) { bytes.append(contentsOf: b) }
}

/// Reads the primitives that `ByteWriter` writes; every read is bounds-checked and throws on short input.
package struct ByteReader {
    package let bytes: [UInt8]
    package private(set) var offset: Int

    package init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    package var remaining: Int { bytes.count - offset }
    package var isAtEnd: Bool { offset >= bytes.count }

    private func truncated() -> TrellisError {
        TrellisError(.corruptData, "truncated data at byte \(offset)")
    }

    package mutating func u8() throws(TrellisError) -> UInt8 {
        guard offset < bytes.count else { throw truncated() }
        defer { offset += 1 }
        return bytes[offset]
    }

    package mutating func u32() throws(TrellisError) -> UInt32 {
        guard remaining >= 4 else { throw truncated() }
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return v
    }

    package mutating func u64() throws(TrellisError) -> UInt64 {
        guard remaining >= 8 else { throw truncated() }
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return v
    }

    package mutating func varint() throws(TrellisError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            guard shift < 64, !(shift == 63 && b > 1) else {
                throw TrellisError(.corruptData, "varint overflows 64 bits at byte \(offset)")
            }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 {
                // Canonical form: no redundant trailing zero groups.
                guard b != 0 || shift == 0 else {
                    throw TrellisError(.corruptData, "non-minimal varint at byte \(offset)")
                }
                return result
            }
            shift += 7
        }
    }

    package mutating func signedVarint() throws(TrellisError) -> Int64 {
        let u = try varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// A length that must fit in what is left, so hostile lengths never allocate.
    package mutating func length(elementSize: Int = 1) throws(TrellisError) -> Int {
        let n = try varint()
        guard n <= UInt64(remaining / max(elementSize, 1)) else {
            throw TrellisError(.corruptData, "length \(n) exceeds the remaining \(remaining) bytes at byte \(offset)")
        }
        return Int(n)
    }

    package mutating func raw(_ count: Int) throws(TrellisError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else { throw truncated() }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    package mutating func string() throws(TrellisError) -> String {
        let n = try length()
        let slice = try raw(n)
        guard let s = ByteReader.string(validating: slice) else {
            throw TrellisError(.corruptData, "invalid UTF-8 ending at byte \(offset)")
        }
        return s
    }
}

extension ByteReader {
    /// The bytes as a String if they are well-formed UTF-8. ASCII (most keys, field names and
    /// values) needs no validation and takes the standard library's fast path; the generic
    /// `String(validating:as:)` looks up type metadata on every call, which a sync of a
    /// million commits paid for in every string it decoded.
    static func string(validating bytes: ArraySlice<UInt8>) -> String? {
        bytes.withUnsafeBufferPointer { buffer in
            isASCII(UnsafeRawBufferPointer(buffer)) ? String(decoding: buffer, as: UTF8.self) : String(validating: buffer, as: UTF8.self)
        }
    }

    /// Whether every byte is below 0x80, eight at a time.
    static func isASCII(_ p: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        var bits: UInt64 = 0
        while i + 8 <= p.count {
            bits |= p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < p.count {
            bits |= UInt64(p[i])
            i += 1
        }
        return bits & 0x8080_8080_8080_8080 == 0
    }
}

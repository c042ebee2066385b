import TrellisCore

/// A log frame (docs/format.md §Log frames): a checksummed, LZ4-compressed batch of signed commits.
/// The frame is the unit of atomicity: a batch is stored whole or not at all.
enum Frame {
    static let magic: [UInt8] = Array("TRF1".utf8)
    static let headerSize = 16
    static let maxRawSize = 64 << 20

    static func encode(_ commits: [SignedCommit]) throws(TrellisError) -> [UInt8] {
        var body = ByteWriter(capacity: commits.count * 256)
        body.varint(UInt64(commits.count))
        for c in commits {
            body.varint(UInt64(c.encoded.count))
            body.raw(c.encoded)
            body.varint(UInt64(c.signature.count))
            body.raw(c.signature)
        }
        guard body.bytes.count <= maxRawSize else {
            throw TrellisError(.invalidArgument, "a batch of \(body.bytes.count) bytes exceeds the 64 MiB frame limit")
        }
        let payload = try LZ4.compress(body.bytes)
        var lengths = ByteWriter(capacity: 8)
        lengths.u32(UInt32(payload.count))
        lengths.u32(UInt32(body.bytes.count))
        var crc = CRC32.checksum(lengths.bytes)
        crc = CRC32.checksum(payload, seed: crc)
        var w = ByteWriter(capacity: headerSize + payload.count)
        w.raw(magic)
        w.raw(lengths.bytes)
        w.u32(crc)
        w.raw(payload)
        return w.bytes
    }

    struct Header {
        let payloadLength: Int
        let rawLength: Int
        let crc: UInt32
        var totalLength: Int { headerSize + payloadLength }
    }

    static func header(_ bytes: [UInt8]) throws(TrellisError) -> Header {
        guard bytes.count >= headerSize else { throw TrellisError(.corruptData, "truncated frame header") }
        guard Array(bytes[0..<4]) == magic else { throw TrellisError(.corruptData, "bad frame magic") }
        var r = ByteReader(bytes, offset: 4)
        let payload = Int(try r.u32()), raw = Int(try r.u32()), crc = try r.u32()
        guard raw <= maxRawSize, payload <= maxRawSize + maxRawSize / 255 + 16 else {
            throw TrellisError(.corruptData, "frame lengths out of range")
        }
        return Header(payloadLength: payload, rawLength: raw, crc: crc)
    }

    /// Checks the checksum, decompresses and decodes; signatures were verified before storing.
    static func decode(_ header: Header, frame bytes: [UInt8]) throws(TrellisError) -> [SignedCommit] {
        let contents = try self.contents(header, frame: bytes)
        var out: [SignedCommit] = []
        out.reserveCapacity(contents.entries.count)
        for i in contents.entries.indices { out.append(try contents.signedCommit(i)) }
        return out
    }

    /// Checks the checksum, decompresses, and locates each commit's bytes without decoding
    /// its document: opening a store reads only headers, and a history read decodes only the
    /// commits it shows.
    static func contents(_ header: Header, frame bytes: [UInt8]) throws(TrellisError) -> FrameContents {
        guard bytes.count == header.totalLength else { throw TrellisError(.corruptData, "truncated frame") }
        var crc = CRC32.checksum(bytes[4..<12])
        crc = CRC32.checksum(bytes[headerSize...], seed: crc)
        guard crc == header.crc else { throw TrellisError(.corruptData, "frame checksum mismatch") }
        let raw = try LZ4.decompress(bytes[headerSize...], rawLength: header.rawLength)
        var r = ByteReader(raw)
        let count = try r.length()
        var entries: [FrameContents.Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let encodedLength = try r.length()
            let encodedStart = r.offset
            let encoded = Array(try r.raw(encodedLength))
            let signatureLength = try r.length()
            let signatureStart = r.offset
            _ = try r.raw(signatureLength)
            entries.append(FrameContents.Entry(
                id: CommitID.of(encoded), header: try Commit.decodeHeader(encoded),
                encoded: encodedStart..<encodedStart + encodedLength,
                signature: signatureStart..<signatureStart + signatureLength))
        }
        guard r.isAtEnd else { throw TrellisError(.corruptData, "trailing bytes in frame") }
        return FrameContents(raw: raw, entries: entries, payloadLength: header.payloadLength)
    }

    /// Where the next frame magic starts in `bytes`, at `from` or later.
    static func nextMagic(in bytes: [UInt8], from start: Int) -> Int? {
        var i = max(0, start)
        while i + magic.count <= bytes.count {
            if bytes[i] == magic[0], bytes[i + 1] == magic[1], bytes[i + 2] == magic[2], bytes[i + 3] == magic[3] { return i }
            i += 1
        }
        return nil
    }
}

/// A decompressed frame: each commit's id and header, and where its bytes lie.
struct FrameContents {
    struct Entry {
        let id: CommitID
        let header: Commit.Header
        let encoded: Range<Int>
        let signature: Range<Int>
    }

    let raw: [UInt8]
    let entries: [Entry]
    /// Compressed bytes after the frame header.
    let payloadLength: Int
    var totalLength: Int { Frame.headerSize + payloadLength }

    func encoded(_ i: Int) -> [UInt8] { Array(raw[entries[i].encoded]) }

    /// Decodes the commit at position `i`.
    func signedCommit(_ i: Int) throws(TrellisError) -> SignedCommit {
        let e = entries[i], encoded = encoded(i)
        return SignedCommit(commit: try Commit.decode(encoded), id: e.id, encoded: encoded, signature: Array(raw[e.signature]))
    }
}

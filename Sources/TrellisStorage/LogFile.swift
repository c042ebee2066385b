#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrellisCore

/// A repository's append-only log: an 8-byte file header, then frames. Only the holder of the
/// store's write lock appends or cuts; readers read up to the last whole frame.
final class LogFile {
    static let fileMagic: [UInt8] = Array("TRLLOG01".utf8)

    let path: String
    /// Read-only until the first append or cut, so that readers need read permission only.
    private var file: FileHandle
    private var writable = false
    /// End of the last valid frame read so far: where the next frame goes.
    private(set) var validEnd: UInt64

    /// Creates the log durably (temporary file, fsync, rename) so a crash never leaves half a header.
    static func create(path: String) throws(TrellisError) {
        try FileSystem.writeAtomically(path, fileMagic)
    }

    init(path: String) throws(TrellisError) {
        self.path = path
        file = try FileHandle(path: path, flags: O_RDONLY)
        let header = try file.read(at: 0, count: LogFile.fileMagic.count)
        guard header == LogFile.fileMagic else {
            throw TrellisError(.corruptData, "\(path) is not a Trellis log (bad file header)")
        }
        validEnd = UInt64(LogFile.fileMagic.count)
    }

    struct ScanResult {
        var frames: [(offset: UInt64, contents: FrameContents)] = []
        /// Set when bytes after the last valid frame do not form a valid frame.
        var badTail: (offset: UInt64, length: UInt64, reason: String)?
    }

    /// True when another process has replaced the file at `path` (a seal or repack): this
    /// handle then reads a log that is no longer the repository's.
    func wasReplaced() -> Bool {
        var open = stat(), named = stat()
        guard fstat(file.fd, &open) == 0 else { return true }
        guard stat(path, &named) == 0 else { return true }
        return open.st_ino != named.st_ino || open.st_dev != named.st_dev
    }

    /// Reads the frames after `validEnd` and advances it past every valid one.
    func scanNewFrames() throws(TrellisError) -> ScanResult {
        var result = ScanResult()
        let size = try file.size()
        while validEnd < size {
            let offset = validEnd
            do throws(TrellisError) {
                let headerBytes = try file.read(at: offset, count: Frame.headerSize)
                let header = try Frame.header(headerBytes)
                guard offset + UInt64(header.totalLength) <= size else {
                    throw TrellisError(.corruptData, "frame runs past the end of the file")
                }
                let bytes = try file.read(at: offset, count: header.totalLength)
                result.frames.append((offset, try Frame.contents(header, frame: bytes)))
                validEnd = offset + UInt64(header.totalLength)
            } catch where error.code == .corruptData {
                result.badTail = (offset, size - offset, error.message)
                break
            }
        }
        return result
    }

    /// Every commit in the valid part of the log, in order (for sealing).
    func allCommits() throws(TrellisError) -> [SignedCommit] {
        var out: [SignedCommit] = []
        var offset = UInt64(LogFile.fileMagic.count)
        while offset < validEnd {
            let header = try Frame.header(try file.read(at: offset, count: Frame.headerSize))
            out += try Frame.decode(header, frame: try file.read(at: offset, count: header.totalLength))
            offset += UInt64(header.totalLength)
        }
        return out
    }

    var isEmpty: Bool { validEnd == UInt64(LogFile.fileMagic.count) }

    /// Frames decoded by `readFrame` (tests check that history reads decode each frame once).
    private(set) var framesRead = 0

    /// Reads the frame at `offset` (a location recorded by a scan).
    func readFrame(at offset: UInt64) throws(TrellisError) -> FrameContents {
        framesRead += 1
        let header = try Frame.header(try file.read(at: offset, count: Frame.headerSize))
        return try Frame.contents(header, frame: try file.read(at: offset, count: header.totalLength))
    }

    /// Reopens the same file for writing (the caller holds the write lock and has checked
    /// that the file was not replaced).
    private func makeWritable() throws(TrellisError) {
        guard !writable else { return }
        let handle = try FileHandle(path: path, flags: O_RDWR)
        var a = stat(), b = stat()
        guard fstat(handle.fd, &a) == 0, fstat(file.fd, &b) == 0, a.st_ino == b.st_ino, a.st_dev == b.st_dev else {
            throw TrellisError(.io, "\(path) was replaced while it was being written")
        }
        file = handle
        writable = true
    }

    /// Appends one frame and returns only once it is durable. On failure the log is cut back.
    func append(_ frame: [UInt8], sync: Bool = true) throws(TrellisError) -> UInt64 {
        try makeWritable()
        let offset = validEnd
        do throws(TrellisError) {
            try file.write(frame, at: offset)
            if sync { try file.sync() }
        } catch {
            try? file.truncate(to: offset)
            throw error
        }
        validEnd = offset + UInt64(frame.count)
        return offset
    }

    func sync() throws(TrellisError) { try file.sync() }

    /// Moves the bytes from `offset` to the end into a side file, then cuts the log there.
    /// Nothing is destroyed: the side file keeps the damaged bytes for inspection.
    func cutTail(at offset: UInt64) throws(TrellisError) -> String {
        try makeWritable()
        let size = try file.size()
        let sidePath = "\(path).damaged-\(offset)-\(FileSystem.nowMillis())"
        let tail = try file.read(at: offset, count: Int(size - offset))
        try FileSystem.createExclusive(sidePath, tail, mode: 0o600)
        try file.truncate(to: offset)
        try file.sync()
        return sidePath
    }
}

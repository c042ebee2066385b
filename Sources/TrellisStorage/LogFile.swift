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

    /// A damaged file header is reported (`headerProblem`), not fatal: the frames after it are
    /// self-delimiting and are read as usual.
    init(path: String) throws(TrellisError) {
        self.path = path
        file = try FileHandle(path: path, flags: O_RDONLY)
        let header = try file.read(at: 0, count: LogFile.fileMagic.count)
        if header != LogFile.fileMagic {
            headerProblem = "\(path) has a damaged file header"
        }
        validEnd = UInt64(LogFile.fileMagic.count)
    }

    private(set) var headerProblem: String?
    /// True once a scan skipped damaged bytes: such a log is moved aside, never deleted.
    private(set) var skippedDamage = false
    var hasDamage: Bool { skippedDamage || headerProblem != nil }

    struct Damage {
        let offset: UInt64
        let length: UInt64
        let reason: String
    }

    struct ScanResult {
        var frames: [(offset: UInt64, contents: FrameContents)] = []
        /// Damaged bytes followed by an intact frame: skipped, never cut.
        var skipped: [Damage] = []
        /// Set when bytes after the last valid frame do not form a valid frame, and no intact
        /// frame follows them: a torn write, or one still in progress.
        var badTail: Damage?
    }

    /// The last bytes of the last frame read: if they change, the file was cut and written
    /// again by someone else, and what this handle read no longer describes it.
    private var lastBytes: [UInt8] = []
    private static let lastBytesCount = 16

    /// True when the file no longer holds what this handle read: replaced by another file
    /// (a seal or repack), shorter than what was read, or rewritten at the end of it.
    func changedUnderneath() throws(TrellisError) -> Bool {
        if wasReplaced() { return true }
        if try file.size() < validEnd { return true }
        guard !lastBytes.isEmpty else { return false }
        return try file.read(at: validEnd - UInt64(lastBytes.count), count: lastBytes.count) != lastBytes
    }

    private func rememberEnd() throws(TrellisError) {
        let n = Int(min(UInt64(Self.lastBytesCount), validEnd - UInt64(LogFile.fileMagic.count)))
        lastBytes = n == 0 ? [] : try file.read(at: validEnd - UInt64(n), count: n)
    }

    /// The frame at `offset` if it is whole and intact.
    private func intactFrame(at offset: UInt64, size: UInt64) throws(TrellisError) -> FrameContents {
        let header = try Frame.header(try file.read(at: offset, count: Frame.headerSize))
        guard offset + UInt64(header.totalLength) <= size else {
            throw TrellisError(.corruptData, "frame runs past the end of the file")
        }
        return try Frame.contents(header, frame: try file.read(at: offset, count: header.totalLength))
    }

    /// The next intact frame after damage at `offset`: frames are self-delimiting, so the
    /// search tries each later frame magic until one has a valid header, length and checksum.
    private func nextIntactFrame(after offset: UInt64, size: UInt64) throws(TrellisError) -> UInt64? {
        let rest = try file.read(at: offset + 1, count: Int(size - offset - 1))
        var i = 0
        while let found = Frame.nextMagic(in: rest, from: i) {
            let candidate = offset + 1 + UInt64(found)
            do throws(TrellisError) {
                _ = try intactFrame(at: candidate, size: size)
                return candidate
            } catch where error.code == .corruptData {
                i = found + 1
            }
        }
        return nil
    }

    /// What one `stat` of `path` said when the last check found the log read to its end and
    /// nothing new: the same file (device, inode), size and modification and change times.
    private struct Quiet: Equatable {
        let device: UInt64, inode: UInt64, size: Int64
        let modified: (Int, Int), changed: (Int, Int)
        init(_ st: stat) {
            (device, inode, size) = (UInt64(st.st_dev), UInt64(st.st_ino), Int64(st.st_size))
            modified = (st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
            changed = (st.st_ctim.tv_sec, st.st_ctim.tv_nsec)
        }
        static func == (a: Quiet, b: Quiet) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size && a.modified == b.modified && a.changed == b.changed
        }
    }
    private var quiet: Quiet?
    /// The log's directory, held open so that the quiet check looks up one name, not the
    /// whole path (a third of a get's time otherwise). -1 when it cannot be opened.
    private lazy var directory: Int32 = open(path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    private lazy var name: String = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path

    deinit { if directory >= 0 { close(directory) } }

    /// True when one `stat` of `path` shows the file exactly as the last `noteQuiet()` saw it:
    /// then no other process has appended to it, cut it or replaced it, and a reader skips the
    /// checks of `changedUnderneath()` and `scanNewFrames()` (four system calls to one). An
    /// append changes the size, a repair or seal replaces the file (a new inode), and a cut
    /// tail is only ever damage past the end this handle has read.
    func isQuiet() -> Bool {
        guard let quiet, directory >= 0 else { return false }
        var named = stat()
        return fstatat(directory, name, &named, 0) == 0 && Quiet(named) == quiet
    }

    /// Remembers the file as it is now, if it is still this handle's file and read to its end
    /// with nothing damaged left after it; otherwise the next check reads as usual.
    func noteQuiet() {
        quiet = nil
        var open = stat(), named = stat()
        guard directory >= 0, fstat(file.fd, &open) == 0, fstatat(directory, name, &named, 0) == 0, open.st_ino == named.st_ino,
              open.st_dev == named.st_dev, UInt64(named.st_size) == validEnd else { return }
        quiet = Quiet(named)
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
                let contents = try intactFrame(at: offset, size: size)
                result.frames.append((offset, contents))
                validEnd = offset + UInt64(contents.totalLength)
            } catch where error.code == .corruptData {
                guard let next = try nextIntactFrame(after: offset, size: size) else {
                    result.badTail = Damage(offset: offset, length: size - offset, reason: error.message)
                    break
                }
                result.skipped.append(Damage(offset: offset, length: next - offset, reason: error.message))
                skippedDamage = true
                validEnd = next
            }
        }
        if !result.frames.isEmpty || !result.skipped.isEmpty { try rememberEnd() }
        return result
    }

    /// Every commit of the intact frames up to `validEnd`, in order (for sealing), skipping
    /// damage as a scan does.
    func allCommits() throws(TrellisError) -> [SignedCommit] {
        var out: [SignedCommit] = []
        var offset = UInt64(LogFile.fileMagic.count)
        while offset < validEnd {
            do throws(TrellisError) {
                let contents = try intactFrame(at: offset, size: validEnd)
                for i in contents.entries.indices { out.append(try contents.signedCommit(i)) }
                offset += UInt64(contents.totalLength)
            } catch where error.code == .corruptData {
                guard let next = try nextIntactFrame(after: offset, size: validEnd) else { break }
                offset = next
            }
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
        lastBytes = Array(frame.suffix(Self.lastBytesCount))
        return offset
    }

    func sync() throws(TrellisError) { try file.sync() }

    /// The open file, for an fsync made after the caller let go of the index: the handle stays
    /// open (and names the same file) even if the log is replaced meanwhile.
    var handle: FileHandle { file }

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
        validEnd = min(validEnd, offset)
        try rememberEnd()
        return sidePath
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrellisCore

/// One open file descriptor; every system call's result is checked where it is made.
final class FileHandle {
    let fd: Int32
    let path: String

    init(path: String, flags: Int32, mode: mode_t = 0o644) throws(TrellisError) {
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileHandle.error("cannot open \(path)", path: path) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// The error of a failed system call on `path`, with its errno kept as the cause.
    static func error(_ what: String, path: String, offset: UInt64? = nil) -> TrellisError {
        let number = errno
        let code: TrellisError.Code = number == ENOENT ? .notFound : number == EACCES || number == EPERM ? .permissionDenied : .io
        return TrellisError(code, "\(what): \(String(cString: strerror(number)))",
                            cause: TrellisError.Cause(errno: number, path: path, offset: offset))
    }

    func size() throws(TrellisError) -> UInt64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileHandle.error("cannot stat \(path)", path: path) }
        return UInt64(st.st_size)
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    func read(at offset: UInt64, count: Int) throws(TrellisError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw FileHandle.error("cannot read \(path)", path: path, offset: offset + UInt64(done)) }
            if n == 0 { break }
            done += n
        }
        out.removeSubrange(done...)
        return out
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(TrellisError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw FileHandle.error("cannot write \(path)", path: path, offset: offset + UInt64(done)) }
            done += n
        }
    }

    func sync() throws(TrellisError) {
        guard fsync(fd) == 0 else { throw FileHandle.error("cannot fsync \(path)", path: path) }
    }

    func truncate(to length: UInt64) throws(TrellisError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw FileHandle.error("cannot truncate \(path)", path: path) }
    }

    /// flock(2); false when `wait` is false and another process holds it.
    func lock(exclusive: Bool, wait: Bool) throws(TrellisError) -> Bool {
        let op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)
        while flock(fd, op) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK { return false }
            throw FileHandle.error("cannot lock \(path)", path: path)
        }
        return true
    }

    func unlock() { flock(fd, LOCK_UN) }
}

/// File operations shared by storage and sync; every failure is a `TrellisError`.
package enum FileSystem {
    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    package static func makeDirectory(_ path: String) throws(TrellisError) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw FileHandle.error("cannot create directory \(path)", path: path)
        }
    }

    /// Makes a directory and its missing parents.
    static func makeDirectories(_ path: String) throws(TrellisError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            try makeDirectory(prefix)
        }
    }

    package static func syncDirectory(_ path: String) throws(TrellisError) {
        let d = try FileHandle(path: path, flags: O_RDONLY | O_DIRECTORY)
        try d.sync()
    }

    /// Removes a directory of plain files (and the files), ignoring what is already gone.
    static func removeFlatDirectory(_ path: String) {
        for name in (try? list(path)) ?? [] { unlink(path + "/" + name) }
        rmdir(path)
    }

    package static func list(_ path: String) throws(TrellisError) -> [String] {
        guard let dir = opendir(path) else { throw FileHandle.error("cannot list \(path)", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Replaces `path` atomically: temporary file, fsync, rename, fsync of the directory (as git's lockfile).
    package static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(TrellisError) {
        try renameIntoPlace(try writeAside(path, bytes, mode: mode), path)
        try syncDirectory(parent(of: path))
    }

    /// The first half of `writeAtomically`: writes and fsyncs the temporary file beside `path`
    /// and returns its name, so that the rename can happen later (and the fsync elsewhere).
    static func writeAside(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(TrellisError) -> String {
        let tmp = path + ".tmp-\(getpid())"
        let f = try FileHandle(path: tmp, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        try f.write(bytes, at: 0)
        try f.sync()
        return tmp
    }

    /// The second half: renames the temporary file over `path` (the caller fsyncs the directory).
    static func renameIntoPlace(_ tmp: String, _ path: String) throws(TrellisError) {
        guard rename(tmp, path) == 0 else {
            let e = FileHandle.error("cannot rename \(tmp) to \(path)", path: path)
            unlink(tmp)
            throw e
        }
    }

    /// Creates a file that must not exist yet, with the given permissions, durably.
    static func createExclusive(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(TrellisError) {
        let f = try FileHandle(path: path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        guard fchmod(f.fd, mode) == 0 else { throw FileHandle.error("cannot set permissions of \(path)", path: path) }
        try f.write(bytes, at: 0)
        try f.sync()
        try syncDirectory(parent(of: path))
    }

    /// The size of a file, or 0 when it cannot be read.
    static func size(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
    }

    package static func readAll(_ path: String) throws(TrellisError) -> [UInt8] {
        let f = try FileHandle(path: path, flags: O_RDONLY)
        return try f.read(at: 0, count: Int(try f.size()))
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    package static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return path }
        let cwd = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return path == "." ? cwd : cwd + "/" + path
    }

    package static func nowMillis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    static func sleep(millis: Int) { usleep(useconds_t(millis * 1000)) }
}

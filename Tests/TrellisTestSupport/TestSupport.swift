import Foundation

/// A fresh temporary directory, removed when the value goes away.
public final class TemporaryDirectory {
    public let path: String

    public init(_ label: String = "trellis-test") {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }
}

/// The result of running a program.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: String
    public var out: String { String(decoding: stdout, as: UTF8.self) }
    public var lines: [String] { out.split(separator: "\n").map(String.init) }
}

public enum TestPaths {
    /// The package's root directory, from this file's place in it.
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The built `trellis` binary next to the test bundle.
    public static let trellis: String = {
        if let env = ProcessInfo.processInfo.environment["TRELLIS_BIN"] { return env }
        return built("trellis")
    }()

    /// The built `trellis-merge-file` binary.
    public static let mergeFile: String = {
        if let env = ProcessInfo.processInfo.environment["TRELLIS_BIN"] {
            return (env as NSString).deletingLastPathComponent + "/trellis-merge-file"
        }
        return built("trellis-merge-file")
    }()

    private static func built(_ name: String) -> String {
        let bundle = Bundle.main.bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return packageRoot + "/.build/debug/" + name
    }
}

/// Runs a program to completion with optional stdin and environment additions.
@discardableResult
public func run(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                environment: [String: String] = [:], directory: String? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["TRELLIS_STORE"] = nil
    for (k, v) in environment { env[k] = v }
    process.environment = env
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    // Output goes to files, so a full pipe can never block the child.
    let scratch = TemporaryDirectory("trellis-run")
    FileManager.default.createFile(atPath: scratch.file("out"), contents: nil)
    FileManager.default.createFile(atPath: scratch.file("err"), contents: nil)
    let outFile = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.file("out")))
    let errFile = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.file("err")))
    let inPipe = Pipe()
    process.standardOutput = outFile
    process.standardError = errFile
    process.standardInput = inPipe
    try process.run()
    if let stdin { inPipe.fileHandleForWriting.write(stdin) }
    try inPipe.fileHandleForWriting.close()
    process.waitUntilExit()
    try outFile.close()
    try errFile.close()
    let outData = FileManager.default.contents(atPath: scratch.file("out")) ?? Data()
    let errData = FileManager.default.contents(atPath: scratch.file("err")) ?? Data()
    return ProcessResult(status: process.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs the `trellis` binary.
@discardableResult
public func trellis(_ arguments: [String], store: String? = nil, stdin: Data? = nil,
                    environment: [String: String] = [:], directory: String? = nil) throws -> ProcessResult {
    let args = store.map { arguments + ["--store", $0] } ?? arguments
    return try run(TestPaths.trellis, args, stdin: stdin, environment: environment, directory: directory)
}

/// Every file under a directory with its bytes, to prove a command changed nothing.
public func snapshot(_ dir: String) -> [String: Data] {
    var out: [String: Data] = [:]
    guard let e = FileManager.default.enumerator(atPath: dir) else { return out }
    while let rel = e.nextObject() as? String {
        let full = dir + "/" + rel
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue {
            out[rel] = FileManager.default.contents(atPath: full)
        }
    }
    return out
}

/// A small deterministic generator (SplitMix64), so randomized tests reproduce from their seed.
public struct SplitMix: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A program left running while the test goes on (a server, a watcher): its output lines are
/// collected as they come.
public final class BackgroundProcess: @unchecked Sendable {
    public let process = Process()
    private let lock = NSLock()
    private var outText = ""
    private var errText = ""

    public init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["TRELLIS_STORE"] = nil
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.outText += String(decoding: d, as: UTF8.self) }
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.errText += String(decoding: d, as: UTF8.self) }
        }
        try process.run()
    }

    deinit { if process.isRunning { process.terminate() } }

    public var lines: [String] { lock.withLock { outText.split(separator: "\n").map(String.init) } }
    public var stderr: String { lock.withLock { errText } }

    /// Waits up to `seconds` for an output line passing `match`.
    public func line(within seconds: Double = 30, where match: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let l = lines.first(where: match) { return l }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return nil
    }

    /// Sends `signal` and waits up to `seconds` for the exit; the status, or nil if still running.
    public func stop(_ signal: Int32 = SIGTERM, within seconds: Double = 10) -> Int32? {
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

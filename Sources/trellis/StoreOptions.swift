import ArgumentParser
import Foundation
import Trellis

/// How every command finds its store, as git finds its repository.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store directory (or a directory holding .trellis).", valueName: "DIR"))
    var store: String?

    static let directoryName = ".trellis"

    func locate() throws(TrellisError) -> String {
        if let store { return Self.storeDirectory(store) }
        if let env = ProcessInfo.processInfo.environment["TRELLIS_STORE"], !env.isEmpty { return Self.storeDirectory(env) }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL
        while true {
            let candidate = dir.appendingPathComponent(Self.directoryName).path
            if FileManager.default.fileExists(atPath: candidate + "/FORMAT") { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        throw TrellisError(.storeMissing,
            "no Trellis store found: pass --store DIR, set TRELLIS_STORE, or run 'trellis init' in this directory or a parent")
    }

    /// A directory that holds `.trellis` means that store; otherwise the directory itself.
    static func storeDirectory(_ path: String) -> String {
        let nested = (path as NSString).appendingPathComponent(directoryName)
        return FileManager.default.fileExists(atPath: nested + "/FORMAT") ? nested : path
    }

    /// $TRELLIS_LOCK_TIMEOUT, else 10 seconds.
    var lockTimeout: Double {
        if let t = ProcessInfo.processInfo.environment["TRELLIS_LOCK_TIMEOUT"], let seconds = Double(t), seconds >= 0 { return seconds }
        return 10
    }

    /// The configuration the environment asks for: $TRELLIS_LOCK_TIMEOUT, $TRELLIS_DURABILITY
    /// and $TRELLIS_SEAL_BYTES.
    func configuration() throws(TrellisError) -> Store.Configuration {
        var configuration = Store.Configuration(lockTimeout: lockTimeout)
        if let mode = ProcessInfo.processInfo.environment["TRELLIS_DURABILITY"], !mode.isEmpty {
            guard let durability = Durability(rawValue: mode) else {
                throw TrellisError(.invalidArgument, "TRELLIS_DURABILITY must be full, batched or none, not '\(mode)'")
            }
            configuration.durability = durability
        }
        if let t = ProcessInfo.processInfo.environment["TRELLIS_SEAL_BYTES"], let bytes = UInt64(t), bytes > 0 {
            configuration.sealThreshold = bytes
        }
        return configuration
    }

    func open() throws(TrellisError) -> Store {
        let store = try Store.open(try locate(), create: false, configuration: try configuration())
        Output.warn(store.takeWarnings())
        // Never freed: the process ends with the command, and tearing a large index down object
        // by object would cost more than many a read (a tenth of a `get` on 100,000 records).
        _ = Unmanaged.passRetained(store)
        return store
    }
}

/// The repository and key that most commands act on.
struct RecordArguments: ParsableArguments {
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "The record's key.") var key: String
}

/// Runs a command body, turning engine errors into one line on stderr and exit status 1.
func reportingErrors(_ body: () throws(TrellisError) -> Void) throws {
    do {
        try body()
    } catch {
        Output.error(error.message)
        throw ExitCode(1)
    }
}

/// `reportingErrors` for async command bodies.
func reportingErrors(_ body: () async throws(TrellisError) -> Void) async throws {
    do {
        try await body()
    } catch {
        Output.error(error.message)
        throw ExitCode(1)
    }
}

// Fuzz harnesses for every decoder that takes outside bytes (docs/fuzzing.md). Built two ways:
// - by scripts/fuzz.sh with `-sanitize=fuzzer,address -DFUZZING`: libFuzzer drives
//   `LLVMFuzzerTestOneInput`, the target named by TRELLIS_FUZZ_TARGET;
// - normally, as `trellis-fuzz TARGET FILE...`, which runs saved inputs (a corpus, a crash)
//   through the same harness without libFuzzer: tests replay the corpus this way.
import Foundation
@testable import TrellisCore
import TrellisCrypto
@testable import TrellisClient
@testable import TrellisServer
@testable import TrellisStorage
@testable import TrellisSync

enum Harness: String, CaseIterable {
    case json, commit, value, sync, server, bundle, pack, index, checkpoint, log

    /// Decodes `bytes`; errors are the expected outcome for most inputs, crashes are bugs.
    func run(_ bytes: [UInt8]) {
        switch self {
        case .json:
            if let json = try? JSONParser.parse(bytes) { _ = try? ValueJSON.document(from: json) }
        case .commit:
            if let commit = try? Commit.decode(bytes) { precondition(commit.encoded() == bytes, "a decoded commit re-encodes differently") }
            _ = try? SignedCommit.verify(encoded: bytes, signature: [UInt8](repeating: 0, count: 64))
        case .value:
            var r = ByteReader(bytes)
            if let value = try? CanonicalDecoder.decodeValue(&r), r.isAtEnd {
                precondition(CanonicalEncoder.encode(value) == bytes, "a decoded value re-encodes differently")
            }
        case .sync:
            _ = try? SyncMessage.decode(bytes)
        case .server:
            _ = try? ServerMessage.decode(bytes)
        case .bundle:
            _ = try? SyncBundle.apply(bytes, to: Scratch.engine)
        case .pack:
            Scratch.withFile("x.pack", bytes) { path in
                guard let reader = try? PackReader(path: path) else { return }
                _ = reader.salvageEntries(problem: { _ in })
                _ = try? reader.forEachReadableEntry { _, _ in }
                for n in 0..<min(reader.entryCount, 64) { _ = try? reader.entry(n) }
            }
        case .index:
            // An index of a fixed small pack: the reader must refuse or use it, never trap.
            Scratch.withIndex(bytes) { reader in
                for n in 0..<reader.entryCount { _ = try? reader.entry(n) }
                _ = reader.ids(withHexPrefix: "ab")
            }
        case .checkpoint:
            _ = try? Checkpoint.decode(bytes)
        case .log:
            Scratch.withFile("log", bytes) { path in
                guard let log = try? LogFile(path: path) else { return }
                _ = try? log.scanNewFrames()
                _ = try? log.allCommits()
            }
        }
    }

    /// For inputs with checksums: whether the real decoders accept `bytes`' checksums (so that
    /// decoding goes on to what they cover); nil for harnesses whose inputs have none.
    func checksumsPass(_ bytes: [UInt8]) -> Bool? {
        func passes(_ body: () throws(TrellisError) -> Void) -> Bool {
            do throws(TrellisError) { try body() } catch {
                return !error.message.contains("checksum mismatch") && !error.message.contains("belongs to another pack")
            }
            return true
        }
        switch self {
        case .json, .commit, .value, .sync, .server:
            return nil
        case .bundle:
            return passes { () throws(TrellisError) in _ = try SyncBundle.apply(bytes, to: Scratch.engine) }
        case .checkpoint:
            return passes { () throws(TrellisError) in _ = try Checkpoint.decode(bytes) }
        case .index:
            FileManager.default.createFile(atPath: PackReader.indexPath(forPack: Scratch.pack), contents: Data(bytes))
            return passes { () throws(TrellisError) in
                // A refused index is not fatal: the reader scans the pack instead, and says why.
                if let problem = try PackReader(path: Scratch.pack).indexProblem { throw TrellisError(.corruptData, problem) }
            }
        case .pack:
            var ok = true
            Scratch.withFile("x.pack", bytes) { path in
                ok = passes { () throws(TrellisError) in
                    let reader = try PackReader(path: path)
                    try reader.verifyChecksum()
                    try reader.forEachEntry { _, _ in }
                }
            }
            return ok
        case .log:
            var ok = true
            Scratch.withFile("log", bytes) { path in
                ok = passes { () throws(TrellisError) in
                    let scan = try LogFile(path: path).scanNewFrames()
                    if let d = (scan.skipped + [scan.badTail].compactMap { $0 }).first {
                        throw TrellisError(.corruptData, d.reason)
                    }
                }
            }
            return ok
        }
    }
}

/// Files and a store on the memory file system, reused across inputs.
enum Scratch {
    static let directory: String = {
        let base = ProcessInfo.processInfo.environment["TRELLIS_FUZZ_SCRATCH"]
            ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        let dir = base + "/trellis-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    static let engine: StorageEngine = {
        let path = directory + "/store"
        if let engine = try? StorageEngine.create(at: path) { return engine }
        preconditionFailure("cannot create a scratch store at \(path)")
    }()

    static func withFile(_ name: String, _ bytes: [UInt8], _ body: (String) -> Void) {
        let path = directory + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        body(path)
    }

    /// A pack of a few commits, written once; each input replaces its index.
    static let pack: String = {
        let dir = directory + "/index-pack"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard let signer = try? SigningKey(seed: [UInt8](repeating: 7, count: 32)) else { preconditionFailure("no signing key") }
        var commits: [PackedCommit] = []
        var parent: [String: CommitID] = [:]
        for n in 0..<6 {
            let key = "k\(n % 2)"
            let commit = Commit(kind: .put, repository: "r", key: key, parents: parent[key].map { [$0] } ?? [],
                                timestamp: HLCTimestamp(wallMillis: UInt64(n), logical: 0), author: nil,
                                document: Document([("n", .int(Int64(n)))]))
            let signed = SignedCommit.sign(commit, with: signer)
            commits.append(PackedCommit(id: signed.id, generation: UInt32(n / 2 + 1), seq: UInt64(n), encoded: signed.encoded, signature: signed.signature))
            parent[key] = signed.id
        }
        guard let output = try? PackWriter.build(commits, blockSize: 100) else { preconditionFailure("cannot build the scratch pack") }
        FileManager.default.createFile(atPath: dir + "/p.pack", contents: Data(output.pack))
        FileManager.default.createFile(atPath: dir + "/p.idx", contents: Data(output.index))
        return dir + "/p.pack"
    }()

    static func withIndex(_ bytes: [UInt8], _ body: (PackReader) -> Void) {
        FileManager.default.createFile(atPath: PackReader.indexPath(forPack: pack), contents: Data(bytes))
        if let reader = try? PackReader(path: pack) { body(reader) }
    }
}

#if FUZZING
nonisolated(unsafe) let selected: Harness = {
    let name = ProcessInfo.processInfo.environment["TRELLIS_FUZZ_TARGET"] ?? ""
    guard let h = Harness(rawValue: name) else {
        preconditionFailure("set TRELLIS_FUZZ_TARGET to one of: \(Harness.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return h
}()

// libFuzzer's own mutation, then (for every other mutation of inputs with checksums) the
// checksums recomputed, so that mutations reach the bytes behind them too.
@_silgen_name("LLVMFuzzerMutate")
func LLVMFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: CUnsignedInt) -> Int {
    let n = LLVMFuzzerMutate(data, size, maxSize)
    guard seed % 2 == 0 else { return n }
    var bytes = Array(UnsafeBufferPointer(start: data, count: n))
    guard Reseal.fix(selected, &bytes) else { return n }
    bytes.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: n) }
    return n
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

// SwiftPM links an executable's entry point as `<target>_main`; hand control to libFuzzer.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("trellis_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzz(data, size) }
}
#else
/// Seed inputs made from real structures: a store's files, commits, bundles and messages.
enum Seeds {
    static func write(to root: String) throws {
        let dir = root + "/store-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try StorageEngine.create(at: dir + "/a"), b = try StorageEngine.create(at: dir + "/b")
        a.packBlockSize = 300
        var n = 0
        for round in 0..<3 {
            try a.write((0..<4).map { k in
                n += 1
                let doc = Document([("n", .int(Int64(n))), ("title", .string("task \(k)")), ("done", .bool(round % 2 == 0)),
                                    ("tags", .set([.string("t\(k)")])), ("notes", .text("line \(round)\nmore\n")),
                                    ("count", .counter(Int64(round))), ("meta", .map(Document([("rev", .int(Int64(round)))])))])
                return WriteRequest(repository: "r", key: "k\(k)", change: .put(doc))
            })
        }
        try b.write([WriteRequest(repository: "r", key: "k0", change: .put(Document([("other", .bool(true))])))])
        var seeds: [Harness: [[UInt8]]] = [:]
        let history = try a.history("r")
        seeds[.commit] = try history.prefix(6).map { try a.commit($0.id).encoded }
        seeds[.value] = [CanonicalEncoder.encode(Value.string("x")), CanonicalEncoder.encode(Value.map(Document([("a", .int(1))]))),
                         CanonicalEncoder.encode(Value.set([.int(1), .string("b")]))]
        seeds[.json] = [#"{"a":1,"b":[1,2,{"c":"x"}],"t":{"$text":"l1\nl2\n"}}"#, #"{"s":{"$set":[1,"a"]},"d":{"$date":"2026-12-01T00:00:00Z"}}"#,
                        #"[1, -2.5e3, true, null, "\u00e9"]"#].map { Array($0.utf8) }
        let hello = try SyncInitiator(engine: a, address: "b").hello()
        let welcome = SyncResponder(engine: b).handle(hello)
        seeds[.sync] = [hello, welcome, SyncMessage.error("refused").encoded()]
        let key = try SigningKey(seed: [UInt8](repeating: 3, count: 32))
        let wire = try history.prefix(2).map { info throws(TrellisError) in
            let c = try a.commit(info.id)
            return WireCommit(encoded: c.encoded, signature: c.signature)
        }
        seeds[.server] = [ServerMessage.challenge(server: key.publicKey.bytes, nonce: [UInt8](repeating: 1, count: ServerMessage.nonceSize), relay: false),
                          .auth(client: key.publicKey.bytes, signature: [UInt8](repeating: 2, count: 64)),
                          .ready(access: [.init(name: "r", write: true, writers: [key.publicKey])]), .subscribe(["r", "s"]),
                          .push(repository: "r", commits: wire), .need(repository: "r", ids: history.prefix(2).map(\.id)), .ack(recipients: 3)]
            .map { $0.encoded() }
        seeds[.bundle] = [try SyncBundle.create(from: a).bytes]
        seeds[.log] = [try FileSystem.readAll(dir + "/a/repos/r/log")]
        _ = try a.repack()
        let packs = try FileSystem.list(dir + "/a/repos/r/packs")
        seeds[.pack] = try packs.filter { $0.hasSuffix(".pack") }.map { try FileSystem.readAll(dir + "/a/repos/r/packs/" + $0) }
        seeds[.checkpoint] = [try FileSystem.readAll(dir + "/a/repos/r/checkpoint")]
        // Index seeds must belong to the scratch pack the index harness opens.
        seeds[.index] = [try FileSystem.readAll(PackReader.indexPath(forPack: Scratch.pack))]
        for (harness, inputs) in seeds {
            let target = root + "/" + harness.rawValue
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            for (i, bytes) in inputs.enumerated() {
                FileManager.default.createFile(atPath: target + "/seed-\(i)", contents: Data(bytes))
            }
        }
    }
}

@main
struct Replay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        if args.first == "seeds", let root = args.dropFirst().first {
            do { try Seeds.write(to: root) } catch {
                FileHandle.standardError.write(Data("trellis-fuzz: cannot write seeds: \(error)\n".utf8))
                exit(1)
            }
            print("wrote seed inputs for \(Harness.allCases.count) targets to \(root)")
            try? FileManager.default.removeItem(atPath: Scratch.directory)
            return
        }
        guard let name = args.first, let harness = Harness(rawValue: name) else {
            FileHandle.standardError.write(Data("usage: trellis-fuzz TARGET [--reseal] FILE...   (targets: \(Harness.allCases.map(\.rawValue).joined(separator: " ")))\n".utf8))
            exit(64)
        }
        // --reseal: recompute each input's checksums first, as the fuzzer's mutator does.
        let reseal = args.dropFirst().first == "--reseal"
        var count = 0, checked = 0, passed = 0
        for path in args.dropFirst(reseal ? 2 : 1) {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let files = isDirectory.boolValue ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                var bytes = Array(data)
                if reseal { Reseal.fix(harness, &bytes) }
                if let pass = harness.checksumsPass(bytes) {
                    checked += 1
                    if pass { passed += 1 }
                }
                harness.run(bytes)
                count += 1
            }
        }
        print("\(name): ran \(count) inputs" + (checked > 0 ? "; \(passed) of \(checked) passed their checksums" : ""))
        try? FileManager.default.removeItem(atPath: Scratch.directory)
    }
}
#endif

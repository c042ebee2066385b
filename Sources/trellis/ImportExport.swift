import ArgumentParser
import Foundation
import Trellis
import TrellisStorage
import TrellisCore

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load records from JSON lines: {\"key\": ..., \"doc\": {...}} per line, one new version each.",
        discussion: "Lines are committed in batches, one fsync per batch. A bad line stops the import with its line number; every line before it is committed. A progress bar shows on a terminal.")

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "The JSON-lines file (- for stdin).") var file: String
    @Option(help: "Lines per batch (one fsync each).") var batch: Int = 1000

    func validate() throws {
        guard batch >= 1, batch <= 100_000 else { throw ValidationError("--batch must be 1 to 100000") }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            _ = try store.repository(repo)
            guard let handle = file == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: file) else {
                throw TrellisError(.io, "cannot read \(file)")
            }
            let total = file == "-" ? nil : (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
            let progress = ProgressBar(total: total, label: "importing")
            var lines: [(number: Int, bytes: [UInt8])] = []
            var committed = 0
            // Lines are parsed in parallel, a batch at a time; the batch is then written in order
            // up to its first bad line, so every line before a bad one is committed.
            func flush() throws(TrellisError) {
                guard !lines.isEmpty else { return }
                let parsed = Import.parseAll(lines.map(\.bytes), repo: repo)
                let good = parsed.prefix { if case .success = $0 { return true } else { return false } }
                let requests = good.compactMap { try? $0.get() }
                if !requests.isEmpty { try store.write(requests) }
                committed += requests.count
                if good.count < parsed.count, case .failure(let error) = parsed[good.count] {
                    throw TrellisError(error.code, "line \(lines[good.count].number): \(error.message) (\(committed) records before it were committed)")
                }
                lines.removeAll(keepingCapacity: true)
            }
            var reader = LineReader(handle: handle)
            do throws(TrellisError) {
                while let (number, line, consumed) = reader.next() {
                    progress.update(consumed)
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                    lines.append((number, line))
                    if lines.count >= batch { try flush() }
                }
                try flush()
            } catch {
                progress.finish()
                throw error
            }
            progress.finish()
            print("imported \(committed) records into \(repo)")
        }
    }

    /// Parses lines on every core; results stay in line order.
    static func parseAll(_ lines: [[UInt8]], repo: String) -> [Result<WriteRequest, TrellisError>] {
        Parallel.map(lines) { line in
            do throws(TrellisError) { return .success(try parse(line, repo: repo)) } catch { return .failure(error) }
        }
    }

    static func parse(_ line: [UInt8], repo: String) throws(TrellisError) -> WriteRequest {
        guard case .object(let members) = try JSONParser.parse(line) else {
            throw TrellisError(.invalidValue, "expected an object {\"key\": ..., \"doc\": {...}}")
        }
        guard members.count == 2, case .string(let key)? = members.first(where: { $0.0 == "key" })?.1,
              let doc = members.first(where: { $0.0 == "doc" })?.1
        else { throw TrellisError(.invalidValue, "expected exactly the members \"key\" (a string) and \"doc\" (an object)") }
        return WriteRequest(repository: repo, key: key, change: .put(try ValueJSON.document(from: doc)))
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every live record's current document as JSON lines, in key order, in the form import reads.",
        discussion: """
            With --at, every record as it stood at that revision (a time, a commit or KEY~N), as Dolt's AS OF.

            Examples:
              trellis export tasks > tasks.jsonl
              trellis export tasks --at 2026-11-30 > tasks-nov30.jsonl
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository.") var repo: String
    @Option(help: ArgumentHelp("Export the repository as of this revision.", valueName: "REV")) var at: String?

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let repository = try options.open().existingRepository(repo)
            var out = ""
            var records: [(key: String, document: Document)]
            if let at {
                records = try repository.snapshot(asOf: try Revision(at))
            } else {
                records = []
                for key in try repository.keys() { if let doc = try repository.get(key) { records.append((key, doc)) } }
            }
            for (key, doc) in records {
                out += JSONWriter.write(.object([("key", .string(key)), ("doc", ValueJSON.json(doc))])) + "\n"
                if out.utf8.count > 1 << 16 {
                    FileHandle.standardOutput.write(Data(out.utf8))
                    out = ""
                }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }
}

/// Reads a file line by line in 64 KiB chunks, so large imports never load whole.
struct LineReader {
    let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var lineNumber = 0
    private var consumed = 0

    init(handle: FileHandle) { self.handle = handle }

    /// (line number from 1, the line without its newline, bytes read so far).
    mutating func next() -> (Int, [UInt8], Int)? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                consumed += newline - start + 1
                start = newline + 1
                lineNumber += 1
                return (lineNumber, line, consumed)
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                consumed += line.count
                start = buffer.count
                lineNumber += 1
                return (lineNumber, line, consumed)
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = handle.readData(ofLength: 1 << 16)
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}

/// A one-line progress bar on stderr, shown only when stderr is a terminal. Updates may come
/// from any thread (a sync's observer runs in its connection's task).
final class ProgressBar: Sendable {
    private let total: Int?
    private let label: String
    private let enabled = isatty(STDERR_FILENO) == 1
    private let lastDrawn = Locked(DispatchTime.now().uptimeNanoseconds)

    init(total: Int?, label: String) {
        self.total = total
        self.label = label
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let due = lastDrawn.withLock { last in
            guard now - last > 100_000_000 else { return false }  // redraw at most ten times a second
            last = now
            return true
        }
        guard due else { return }
        var text = "\r\(label) \(done / 1024) KiB"
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 30, filled = Int(fraction * Double(width))
            text = "\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                + "] \(Int(fraction * 100))%"
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

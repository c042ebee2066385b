import ArgumentParser
import Foundation
import Trellis

#if canImport(Glibc)
import Glibc
#endif

/// When to colour output.
enum ColorMode: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

/// How history commands show their output on a terminal: colour and a pager, as git does.
struct DisplayOptions: ParsableArguments {
    @Option(name: .customLong("color"), help: "Colour the output: auto (on a terminal, unless $NO_COLOR is set), always or never.")
    var color: ColorMode = .auto
    @Flag(name: .customLong("no-pager"), help: "Print straight to the terminal, without $PAGER (default: less -FRX).")
    var noPager = false

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    var colors: Bool {
        switch color {
        case .always: true
        case .never: false
        case .auto:
            Self.stdoutIsTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
                && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        }
    }

    /// A printer for this command's output; paged when stdout is a terminal and the pager is not
    /// turned off (`--no-pager`, or an empty $PAGER).
    func printer() -> Printer {
        Printer(colors: colors, paged: !noPager && Self.stdoutIsTerminal)
    }
}

/// Collects a command's lines and shows them at the end: through the pager, or on stdout.
final class Printer {
    let colors: Bool
    private let paged: Bool
    private var text = ""

    init(colors: Bool, paged: Bool) { (self.colors, self.paged) = (colors, paged) }

    func line(_ s: String = "") {
        text += s
        text += "\n"
        if !paged, text.utf8.count > 1 << 16 { flushPlain() }
    }

    func paint(_ s: String, _ style: Style) -> String { colors ? "\u{1B}[\(style.rawValue)m\(s)\u{1B}[m" : s }

    enum Style: String {
        case yellow = "33", green = "32", red = "31", cyan = "36", bold = "1", dim = "2", magenta = "35", blue = "34"
        static let lanes: [Style] = [.red, .green, .yellow, .blue, .magenta, .cyan]
    }

    private func flushPlain() {
        FileHandle.standardOutput.write(Data(text.utf8))
        text = ""
    }

    /// Shows what was collected. A pager that cannot start falls back to stdout.
    func finish() {
        guard paged, !text.isEmpty else { return flushPlain() }
        let env = ProcessInfo.processInfo.environment
        let command = env["TRELLIS_PAGER"] ?? env["PAGER"] ?? "less -FRX"
        guard !command.trimmingCharacters(in: .whitespaces).isEmpty, command != "cat" else { return flushPlain() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = env
        if environment["LESS"] == nil { environment["LESS"] = "FRX" }
        process.environment = environment
        let pipe = Pipe()
        process.standardInput = pipe
        do { try process.run() } catch { return flushPlain() }
        signal(SIGPIPE, SIG_IGN)  // the user may quit the pager before reading everything
        try? pipe.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        try? pipe.fileHandleForWriting.close()
        process.waitUntilExit()
        text = ""
    }
}

/// The display names the store knows (`trellis identity --name`), for showing and matching authors.
struct DisplayNames {
    let names: [PublicKey: String]

    init(_ store: Store) throws(TrellisError) { names = try store.displayNames() }

    /// "Ann Lee <1a2b3c4d5e6f>" when the key has a name, else the key in hex.
    func describe(_ author: PublicKey?) -> String {
        guard let author else { return "(none: merge)" }
        let hex = Hex.encode(author.bytes)
        return names[author].map { "\($0) <\(hex.prefix(12))>" } ?? hex
    }

    /// A name shorter than its key, for one-line formats.
    func short(_ author: PublicKey?) -> String {
        guard let author else { return "(merge)" }
        return names[author] ?? String(Hex.encode(author.bytes).prefix(12))
    }

    func name(_ author: PublicKey?) -> String? { author.flatMap { names[$0] } }

    /// Accepts an author whose display name contains `text` (ignoring case), or whose key in hex
    /// starts with it.
    func matcher(_ text: String) throws(TrellisError) -> @Sendable (PublicKey) -> Bool {
        guard !text.isEmpty else { throw TrellisError(.invalidArgument, "--author needs a display name or a key's hex prefix") }
        let needle = text.lowercased()
        let named = Set(names.compactMap { $0.value.lowercased().contains(needle) ? $0.key : nil })
        return { key in named.contains(key) || Hex.encode(key.bytes).hasPrefix(needle) }
    }
}

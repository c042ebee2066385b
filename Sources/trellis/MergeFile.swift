import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct MergeFile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-file",
        abstract: "Three-way merge of text files with Trellis's text merge, in git's argument order; the result goes to stdout.",
        discussion: """
            OURS BASE THEIRS, as git merge-file takes them. Lines are merged with diff3; a hunk both sides changed differently is merged again word by word. Exit status 0 when the merge is clean, 1 when conflicts remain (shown with git-style markers, or resolved to one side with --ours or --theirs). On clean merges the output equals `git merge-file -p OURS BASE THEIRS` for non-overlapping edits. The files are never written (-p is accepted for git compatibility). `trellis-merge-file` is the same merge in a small executable that starts as fast as git's.

            Example:
              trellis merge-file mine.txt base.txt theirs.txt > merged.txt
            """)

    @Argument(help: "Our version.") var ours: String
    @Argument(help: "The common ancestor.") var base: String
    @Argument(help: "Their version.") var theirs: String
    @Flag(name: .customLong("ours"), help: "Resolve conflicts to our side.") var preferOurs = false
    @Flag(name: .customLong("theirs"), help: "Resolve conflicts to their side.") var preferTheirs = false
    @Flag(name: [.customShort("p"), .customLong("stdout")], help: "Print the result (always done; for git compatibility).") var stdout = false

    func validate() throws {
        if preferOurs && preferTheirs { throw ValidationError("--ours and --theirs exclude each other") }
    }

    func run() throws {
        let texts = try Self.readTexts([ours, base, theirs])
        let result = FileMerge.merge(ours: texts[0], base: texts[1], theirs: texts[2], oursLabel: ours, theirsLabel: theirs,
                                     prefer: preferOurs ? .ours : preferTheirs ? .theirs : .none)
        FileHandle.standardOutput.write(Data(result.text.utf8))
        if result.conflicted { throw ExitCode(1) }
    }

    /// The files as UTF-8 text, or one error line and exit status 2.
    static func readTexts(_ paths: [String]) throws -> [String] {
        var texts: [String] = []
        try reportingErrors { () throws(TrellisError) in
            for path in paths {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw TrellisError(.io, "cannot read \(path)")
                }
                guard let text = String(validating: data, as: UTF8.self) else {
                    throw TrellisError(.invalidArgument, "\(path) is not UTF-8 text")
                }
                texts.append(text)
            }
        }
        return texts
    }
}

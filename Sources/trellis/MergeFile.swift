import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct MergeFile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-file",
        abstract: "Three-way merge of text files with Trellis's text merge; the result goes to stdout.",
        discussion: """
            Lines are merged with diff3; a hunk both sides changed differently is merged again word by word. Exit status 0 when the merge is clean, 1 when conflicts remain (shown with git-style markers, or resolved to one side with --ours or --theirs). On clean merges the output equals `git merge-file -p OURS BASE THEIRS` for non-overlapping edits.
            """)

    @Argument(help: "The common ancestor.") var base: String
    @Argument(help: "Our version.") var ours: String
    @Argument(help: "Their version.") var theirs: String
    @Flag(name: .customLong("ours"), help: "Resolve conflicts to our side.") var preferOurs = false
    @Flag(name: .customLong("theirs"), help: "Resolve conflicts to their side.") var preferTheirs = false

    func validate() throws {
        if preferOurs && preferTheirs { throw ValidationError("--ours and --theirs exclude each other") }
    }

    func run() throws {
        var texts: [String] = []
        try reportingErrors { () throws(TrellisError) in
            for path in [base, ours, theirs] {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw TrellisError(.io, "cannot read \(path)")
                }
                guard let text = String(validating: data, as: UTF8.self) else {
                    throw TrellisError(.invalidArgument, "\(path) is not UTF-8 text")
                }
                texts.append(text)
            }
        }
        let result = TextMerge.merge(base: texts[0], ours: texts[1], theirs: texts[2])
        let output: String
        if result.isClean || preferOurs || preferTheirs {
            output = result.resolved(preferOurs: !preferTheirs)
        } else {
            output = TextMerge.withMarkers(result, oursLabel: ours, theirsLabel: theirs)
        }
        FileHandle.standardOutput.write(Data(output.utf8))
        if !result.isClean && !preferOurs && !preferTheirs { throw ExitCode(1) }
    }
}

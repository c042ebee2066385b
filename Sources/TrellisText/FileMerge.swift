/// `merge-file` as both executables run it: git's argument order, the text merge, git-style
/// conflict markers labelled with the file names (docs/merge.md §merge-file).
package enum FileMerge {
    package enum Prefer: Sendable { case none, ours, theirs }

    /// The merged text, and whether conflicts remain in it.
    package static func merge(ours: String, base: String, theirs: String, oursLabel: String, theirsLabel: String,
                              prefer: Prefer) -> (text: String, conflicted: Bool) {
        TextMerge.text(base: base, ours: ours, theirs: theirs, oursLabel: oursLabel, theirsLabel: theirsLabel, prefer: prefer)
    }

    /// The usage text of both executables.
    package static let usage = """
        usage: merge-file [-p] [--ours | --theirs] OURS BASE THEIRS

        Three-way merge of text files, in git merge-file's argument order: OURS is our version,
        BASE the common ancestor, THEIRS their version. The result goes to stdout (-p is accepted
        for git compatibility; the files are never written). Exit status: 0 clean, 1 conflicts
        remain (git-style markers), 2 bad arguments or unreadable files.
        """
}

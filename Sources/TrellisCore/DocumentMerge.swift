/// One side of a merge: a version of a record and what orders it against the other side.
package struct MergeSide: Sendable, Equatable {
    /// nil when this side deleted the record.
    public var document: Document?
    public var timestamp: HLCTimestamp
    public var id: CommitID

    public init(document: Document?, timestamp: HLCTimestamp, id: CommitID) {
        self.document = document
        self.timestamp = timestamp
        self.id = id
    }

    /// The newer side wins where a rule needs a winner: larger timestamp, then larger id.
    public static func isNewer(_ a: MergeSide, than b: MergeSide) -> Bool {
        a.timestamp != b.timestamp ? a.timestamp > b.timestamp : a.id > b.id
    }
}

/// A field (or the whole record, path []) that both sides changed in ways no rule combines; a
/// rule picked the winner, and the loser stays in history.
public struct MergeConflict: Hashable, Sendable {
    public enum Rule: String, Sendable {
        /// Both changed a scalar, list or type: the newer side's value.
        case lastWriterWins = "last-writer-wins"
        /// Overlapping text edits: each such hunk takes the newer side's text.
        case textHunk = "text-hunk"
        /// One side deleted the record, the other edited it: the edit wins.
        case editBeatsDelete = "edit-beats-delete"
    }

    public var path: [String]
    public var rule: Rule
    /// nil = absent (field missing, or record deleted at path []).
    public var base: Value?
    /// The older side ("ours") and the newer side ("theirs"), by the merge's ordering.
    public var ours: Value?
    public var theirs: Value?
    public var winner: Value?

    public var pathString: String { path.isEmpty ? "(record)" : path.joined(separator: ".") }
}

/// The three-way merge of two versions of a record against their common ancestor
/// (docs/merge.md). The result depends only on the contents, timestamps and ids of the sides,
/// never on which side is passed first.
package enum DocumentMerge {
    package struct Result: Sendable, Equatable {
        /// nil when the merged record is deleted.
        package var document: Document?
        package var conflicts: [MergeConflict]
    }

    package static func merge(base: Document?, _ a: MergeSide, _ b: MergeSide) -> Result {
        let (older, newer) = MergeSide.isNewer(a, than: b) ? (b, a) : (a, b)
        var conflicts: [MergeConflict] = []
        switch (older.document, newer.document) {
        case (nil, nil):
            return Result(document: nil, conflicts: [])
        case (let edited?, nil), (nil, let edited?):
            // Deleted on one side. An untouched other side lets the delete stand; an edit wins.
            guard edited != base else { return Result(document: nil, conflicts: []) }
            conflicts.append(MergeConflict(
                path: [], rule: .editBeatsDelete, base: base.map(Value.map), ours: older.document.map(Value.map),
                theirs: newer.document.map(Value.map), winner: .map(edited)))
            return Result(document: edited, conflicts: conflicts)
        case (let o?, let t?):
            let merged = mergeMaps(base ?? Document(), o, t, path: [], conflicts: &conflicts)
            return Result(document: merged, conflicts: conflicts)
        }
    }

    static func mergeMaps(_ b: Document, _ o: Document, _ t: Document, path: [String],
                          conflicts: inout [MergeConflict]) -> Document {
        // Fields are read in place (lent buffers), so that comparing them copies nothing.
        b.fields.withUnsafeBufferPointer { bf in
            o.fields.withUnsafeBufferPointer { of in
                t.fields.withUnsafeBufferPointer { tf in
                    mergeFields(bf, of, tf, path: path, conflicts: &conflicts)
                }
            }
        }
    }

    private static func mergeFields(_ bf: UnsafeBufferPointer<Document.Field>, _ of: UnsafeBufferPointer<Document.Field>,
                                    _ tf: UnsafeBufferPointer<Document.Field>, path: [String],
                                    conflicts: inout [MergeConflict]) -> Document {
        // No whole-document shortcuts (o == b, t == b): the walk answers them field by field at
        // no extra cost, and o == t is none, as equal sides may hold counters both raised.
        // All three field lists are in canonical (byte) order: walk them together, so the
        // result is built in order and conflicts are listed the same way on every peer.
        var fields: [Document.Field] = []
        fields.reserveCapacity(max(of.count, tf.count))
        var ib = 0, io = 0, it = 0
        while ib < bf.count || io < of.count || it < tf.count {
            // The same name under all three cursors (the sides kept the base's fields): no
            // search for the smallest.
            if ib < bf.count, io < of.count, it < tf.count,
               Value.sameBytes(bf[ib].name, of[io].name), Value.sameBytes(bf[ib].name, tf[it].name) {
                // A side that left the field as it was takes the other side's field, which is
                // what every rule below answers then (counters and maps included).
                // Same bits first: a side that copied the base's field shares its box.
                if Document.Field.sameBits(of, io, bf, ib) || of[io].value == bf[ib].value {
                    fields.append(tf[it])
                } else if Document.Field.sameBits(tf, it, bf, ib) || tf[it].value == bf[ib].value {
                    fields.append(of[io])
                } else if let merged = mergeValues(bf[ib].value, of[io].value, tf[it].value, parent: path,
                                                   name: bf[ib].name, conflicts: &conflicts) {
                    fields.append(Document.Field(name: bf[ib].name, value: merged))
                }
                ib += 1; io += 1; it += 1
                continue
            }
            // The smallest name among the three cursors.
            var name = ib < bf.count ? bf[ib].name : nil
            if io < of.count, name.map({ Document.compare(of[io].name, $0) < 0 }) ?? true { name = of[io].name }
            if it < tf.count, name.map({ Document.compare(tf[it].name, $0) < 0 }) ?? true { name = tf[it].name }
            guard let name else { break }
            let bv = ib < bf.count && Document.compare(bf[ib].name, name) == 0 ? bf[ib].value : nil
            let ov = io < of.count && Document.compare(of[io].name, name) == 0 ? of[io].value : nil
            let tv = it < tf.count && Document.compare(tf[it].name, name) == 0 ? tf[it].value : nil
            if bv != nil { ib += 1 }
            if ov != nil { io += 1 }
            if tv != nil { it += 1 }
            if let merged = mergeValues(bv, ov, tv, parent: path, name: name, conflicts: &conflicts) {
                fields.append(Document.Field(name: name, value: merged))
            }
        }
        return Document(canonical: fields)
    }

    /// `o` is the older side, `t` the newer; nil means the field is absent.
    static func mergeValues(_ b: Value?, _ o: Value?, _ t: Value?, parent: [String], name: String,
                            conflicts: inout [MergeConflict]) -> Value? {
        // Counters and maps first: both sides' increments add up even when the sides are equal.
        switch (o, t) {
        case (.counter(let x)?, .counter(let y)?):
            let base: Int64 = if case .counter(let c)? = b { c } else { 0 }
            return .counter(base &+ (x &- base) &+ (y &- base))
        case (.map(let x)?, .map(let y)?):
            let base: Document = if case .map(let d)? = b { d } else { Document() }
            return .map(mergeMaps(base, x, y, path: parent + [name], conflicts: &conflicts))
        default: break
        }
        if o == t { return o }
        if o == b { return t }
        if t == b { return o }
        let path = parent + [name]  // built only for fields both sides changed
        switch (o, t) {
        case (.set(let x)?, .set(let y)?):
            let base: [Value] = if case .set(let s)? = b { s.elements } else { [] }
            let baseSet = Set(base), xs = Set(x.elements), ys = Set(y.elements)
            // base ∪ added(ours) ∪ added(theirs) − removed(ours) − removed(theirs)
            let kept = base.filter { xs.contains($0) && ys.contains($0) }
            let added = x.elements.filter { !baseSet.contains($0) } + y.elements.filter { !baseSet.contains($0) }
            return .set(kept + added)
        case (.text(let x)?, .text(let y)?):
            let base: String = if case .text(let s)? = b { s } else { "" }
            let merged = TextMerge.merge(base: base, ours: x, theirs: y)
            let result = Value.text(merged.resolved(preferOurs: false))
            if !merged.isClean {
                conflicts.append(MergeConflict(path: path, rule: .textHunk, base: b, ours: o, theirs: t, winner: result))
            }
            return result
        default:
            conflicts.append(MergeConflict(path: path, rule: .lastWriterWins, base: b, ours: o, theirs: t, winner: t))
            return t
        }
    }
}

import Testing
import TrellisTestSupport
import TrellisCrypto
@testable import TrellisCore

/// Random DAGs of up to 12 commits by two authors and merges, in shuffled order with repeats,
/// against the definition: a commit is authenticated when it is signed or a descendant by its
/// author is; it needs its own check only when signed and no such descendant exists.
@Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
func coveragePlanMatchesTheDefinition(seed: UInt64) throws {
    var g = SplitMix(state: seed &* 0x51ED_2701)
    let authors = [try SigningKey.generate().publicKey, try SigningKey.generate().publicKey]
    for _ in 0..<400 {
        let n = Int.random(in: 1...12, using: &g)
        var items: [SignatureCoverage.Item] = []
        for i in 0..<n {
            let parents = i == 0 ? [] : (0..<Int.random(in: 0...2, using: &g)).map { _ in items[Int.random(in: 0..<i, using: &g)].id }
            let author = Int.random(in: 0...3, using: &g) == 0 ? nil : authors[Int.random(in: 0...1, using: &g)]
            items.append(.init(id: CommitID.of([UInt8(i), UInt8(seed)]), author: author, parents: parents,
                               hasSignature: author != nil && Bool.random(using: &g)))
        }
        // Parents outside the set are ignored.
        if Bool.random(using: &g) {
            items.append(.init(id: CommitID.of([200]), author: authors[0], parents: [CommitID.of([201])], hasSignature: true))
        }
        var order = items.shuffled(using: &g)
        if let repeated = order.randomElement(using: &g), Bool.random(using: &g) { order.append(repeated) }
        let needs = SignatureCoverage.plan(order)

        let byID = Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func isAncestor(_ a: CommitID, of d: CommitID) -> Bool {
            var stack = byID[d]?.parents ?? []
            var seen = Set<CommitID>()
            while let p = stack.popLast() {
                if p == a { return true }
                if seen.insert(p).inserted { stack += byID[p]?.parents ?? [] }
            }
            return false
        }
        for (item, need) in zip(order, needs) {
            guard let author = item.author else {
                #expect(need == .recompute)
                continue
            }
            let vouched = items.contains { $0.author == author && $0.hasSignature && isAncestor(item.id, of: $0.id) }
            let expected: SignatureCoverage.Need = vouched ? .covered : item.hasSignature ? .verify : .missing
            #expect(need == expected, "commit \(item.id.short)")
        }
    }
}

@Test func aSignatureCoversOnlyItsOwnAuthorsAncestors() throws {
    let a = try SigningKey.generate().publicKey, b = try SigningKey.generate().publicKey
    let x = CommitID.of([1]), y = CommitID.of([2]), z = CommitID.of([3])
    // x (a, unsigned) <- y (b, signed) <- z (a, signed): z vouches for x through y.
    let needs = SignatureCoverage.plan([
        .init(id: x, author: a, parents: [], hasSignature: false),
        .init(id: y, author: b, parents: [x], hasSignature: true),
        .init(id: z, author: a, parents: [y], hasSignature: true),
    ])
    #expect(needs == [.covered, .verify, .verify])
    // Without z, nothing vouches for x.
    let alone = SignatureCoverage.plan([.init(id: x, author: a, parents: [], hasSignature: false),
                                        .init(id: y, author: b, parents: [x], hasSignature: true)])
    #expect(alone == [.missing, .verify])
}

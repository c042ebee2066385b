import Foundation
import Testing
import TrellisCore
import TrellisStorage
import TrellisTestSupport
@testable import TrellisSync

/// A document touching every value type, with random contents.
func randomDocument(_ generator: inout SplitMix) -> String {
    var rng = generator
    defer { generator = rng }
    let words = ["alpha", "beta", "gamma", "delta", "épsilon", "ζ"]

    var fields: [String] = []
    let all: [(inout SplitMix) -> String] = [
        { rng in #""null": null"# },
        { rng in #""bool": \#(rng.next() % 2 == 0)"# },
        { rng in #""int": \#(Int64(bitPattern: rng.next()) % 1000)"# },
        { rng in #""double": \#(Double(rng.next() % 1000) / 8 + 0.5)"# },
        { rng in #""string": "\#(words[Int(rng.next() % 6)])""# },
        { rng in #""date": {"$date": "2026-0\#(1 + rng.next() % 9)-1\#(rng.next() % 9)T10:00:00.000Z"}"# },
        { rng in #""bytes": {"$bytes": "\#(["AAE=", "/w==", "YWJj"][Int(rng.next() % 3)])"}"# },
        { rng in #""text": {"$text": "\#(words[Int(rng.next() % 6)])\n\#(words[Int(rng.next() % 6)])\n\#(words[Int(rng.next() % 6)])\n"}"# },
        { rng in #""set": {"$set": ["\#(words[Int(rng.next() % 6)])", "\#(words[Int(rng.next() % 6)])"]}"# },
        { rng in #""counter": {"$counter": \#(rng.next() % 50)}"# },
        { rng in #""map": {"a": "\#(words[Int(rng.next() % 6)])", "b": \#(rng.next() % 9)}"# },
        { rng in #""list": [\#(rng.next() % 9), "\#(words[Int(rng.next() % 6)])"]"# },
    ]
    for make in all where rng.next() % 3 != 0 { fields.append(make(&rng)) }
    return "{" + fields.joined(separator: ", ") + "}"
}

@Test(arguments: [1, 2, 3, 4], EngineKind.allCases)
func randomPartitionsConvergeToIdenticalStores(seed: UInt64, engine: EngineKind) throws {
    var rng = SplitMix(state: seed)
    let dir = TemporaryDirectory()
    let count = 3 + Int(rng.next() % 3)
    let stores = try (0..<count).map { try engine.engine(dir, "s\($0)") }
    let repos = ["alpha", "beta"], keys = (0..<6).map { "k\($0)" }
    func sync(_ i: Int, _ j: Int) throws -> SyncReport {
        try Sync.between(stores[i], stores[j], address: stores[j].peerAddress)
    }

    for _ in 0..<6 {
        // A random partition: each store joins one of up to three groups.
        let group = (0..<count).map { _ in Int(rng.next() % 3) }
        for (i, s) in stores.enumerated() {
            for _ in 0..<Int(rng.next() % 8) {
                let repo = repos[Int(rng.next() % 2)], key = keys[Int(rng.next() % UInt64(keys.count))]
                switch rng.next() % 10 {
                case 0 where (try? s.current(repo, key).document) != nil:
                    try s.write([WriteRequest(repository: repo, key: key, change: .delete)])
                case 1: if (try? s.heads(repo, key).count) ?? 0 > 1 { try s.mergeHeads(repo, key) }
                default: try put(s, repo, key, randomDocument(&rng))
                }
            }
            // Sync with a random member of the same group.
            let peers = (0..<count).filter { $0 != i && group[$0] == group[i] }
            if !peers.isEmpty { _ = try sync(i, peers[Int(rng.next() % UInt64(peers.count))]) }
        }
    }

    // Heal: random pairs in random order until a whole pass moves nothing.
    var quiet = false
    var passes = 0
    while !quiet {
        passes += 1
        #expect(passes < 20)
        if passes >= 20 { break }
        quiet = true
        var pairs = (0..<count).flatMap { i in (0..<count).filter { $0 != i }.map { (i, $0) } }
        pairs.shuffle(using: &rng)
        for (i, j) in pairs {
            let r = try sync(i, j)
            #expect(r.rounds <= 6)
            if r.commitsSent + r.commitsReceived > 0 { quiet = false }
        }
    }
    let expected = try state(stores[0])
    let infos = try stores[0].repositoryNames().flatMap { try stores[0].history($0) }
    print("seed \(seed): \(count) stores, \(infos.count) commits, \(infos.filter { $0.kind.isMerge }.count) merges, \(passes) passes")
    #expect(infos.count >= 20)
    for s in stores.dropFirst() { #expect(try state(s) == expected) }
    // Independent merges of the same heads are byte-identical, so merging everywhere and
    // syncing again still agrees.
    for s in stores {
        for repo in try s.repositoryNames() {
            for key in try s.keys(in: repo) where try s.heads(repo, key).count > 1 { try s.mergeHeads(repo, key) }
        }
    }
    for i in 1..<count { _ = try sync(0, i) }
    for i in 1..<count { _ = try sync(i, 0) }
    let merged = try state(stores[0])
    for s in stores.dropFirst() { #expect(try state(s) == merged) }
}

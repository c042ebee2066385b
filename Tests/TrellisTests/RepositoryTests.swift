import Foundation
import Testing
import Trellis
import TrellisTestSupport

struct Everything: Codable, Equatable {
    struct Inner: Codable, Equatable { var x: Int; var y: [String] }
    var title: String
    var count: Int
    var small: UInt8
    var ratio: Double
    var when: Date
    var blob: Data
    var notes: TrellisText
    var hits: Counter
    var tags: Set<String>
    var inner: Inner
    var list: [Inner]
    var maybe: String?
    var missing: Int?
}

@Test(arguments: EngineKind.allCases) func codableRoundTripKeepsTrellisTypes(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let repo = try engine.store(dir, "s").repository("r")
    let value = Everything(
        title: "t", count: -5, small: 200, ratio: 0.25, when: Date(timeIntervalSince1970: 1_700_000_000.123),
        blob: Data([1, 2, 3]), notes: "a\nb\n", hits: 7, tags: ["x", "y"], inner: .init(x: 1, y: ["q"]),
        list: [.init(x: 2, y: [])], maybe: "m", missing: nil)
    try repo.put("k", value: value)
    #expect(try repo.get("k", as: Everything.self) == value)
    let doc = try #require(try repo.get("k"))
    #expect(doc["when"] == .date(1_700_000_000_123))
    #expect(doc["blob"] == .bytes([1, 2, 3]))
    #expect(doc["notes"] == .text("a\nb\n"))
    #expect(doc["hits"] == .counter(7))
    #expect(doc["tags"] == .set([.string("x"), .string("y")]))
    #expect(doc["missing"] == nil)
    #expect(throws: TrellisError.self) { try repo.get("k", as: [String: Int].self) }
}

@Test(arguments: EngineKind.allCases) func deleteHistoryAndConcurrentHeads(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let store = try engine.store(dir, "s")
    let repo = try store.repository("notes")
    let v1 = try repo.put("n", Document([("body", .text("one\n"))]))
    let v2 = try repo.update("n") { $0["body"] = .text("one\ntwo\n") }
    let fork = try repo.put("n", Document([("body", .text("uno\n"))]), parents: [v1])
    #expect(Set(try repo.heads("n").map(\.id)) == [v2, fork])
    // get merges the heads in memory (the line-level conflict resolves word by word) and writes nothing.
    #expect(try repo.get("n")?["body"] == .text("uno\ntwo\n"))
    #expect(try repo.heads("n").count == 2)
    try repo.merge("n")
    #expect(try repo.heads("n").count == 1)
    #expect(try repo.get("n")?["body"] == .text("uno\ntwo\n"))
    let diff = try repo.diff("n", from: v1, to: v2)
    #expect(diff.changes.first?.lines?.count == 2)
    try repo.delete("n")
    #expect(try repo.get("n") == nil)
    #expect(try repo.keys().isEmpty)
    #expect(try repo.history("n").count == 5)  // three versions, the merge, the tombstone
    #expect(try repo.document(at: v1)?["body"] == .text("one\n"))
    #expect(throws: TrellisError.self) { try store.repository("bad name") }
    #expect(try store.repository("never").get("x") == nil)
}

@Test(arguments: EngineKind.allCases) func concurrentWritersInOneProcessSerialize(engine: EngineKind) async throws {
    let dir = TemporaryDirectory()
    let store = try engine.store(dir, "s")
    let repo = try store.repository("c")
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<4 {
            group.addTask {
                for _ in 0..<25 {
                    _ = try? repo.update("counter") { doc in
                        guard case .int(let n)? = doc["n"] else { doc["n"] = .int(1); return }
                        doc["n"] = .int(n + 1)
                    }
                }
            }
        }
    }
    #expect(try await repo.get("counter")?["n"] == .int(100))
    #expect(try repo.heads("counter").count == 1)
}

class Animal: Codable { var name = "rex" }
final class Dog: Animal, @unchecked Sendable {  // immutable after construction in this test
    var barks = true
    enum CodingKeys: String, CodingKey { case barks }
    override init() { super.init() }
    required init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        barks = try c.decode(Bool.self, forKey: .barks)
        try super.init(from: c.superDecoder())
    }
    override func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(barks, forKey: .barks)
        try super.encode(to: c.superEncoder())
    }
}

@Test(arguments: EngineKind.allCases) func subclassesEncodeTheirSuperclassUnderSuper(engine: EngineKind) throws {
    let dir = TemporaryDirectory()
    let repo = try engine.store(dir, "s").repository("r")
    try repo.put("d", value: Dog())
    #expect(try repo.get("d")?["super"] == .map(Document([("name", .string("rex"))])))
    let dog = try #require(try repo.get("d", as: Dog.self))
    #expect(dog.barks && dog.name == "rex")
    #expect(throws: TrellisError.self) { try repo.put("bad", value: ["x": UInt64.max]) }
}

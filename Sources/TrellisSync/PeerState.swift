import Foundation
import Synchronization
import TrellisCore
import TrellisCrypto
import TrellisStorage

/// What a store remembers about its last sync with a peer (docs/sync.md §Per-peer state):
/// for each selection, the token both sides saved and this store's arrival marks.
package struct PeerState {
    package struct Entry: Equatable, Sendable {
        package var selection: [String]
        package var token: [UInt8]
        package var marks: [String: UInt64]

        package init(selection: [String], token: [UInt8], marks: [String: UInt64]) {
            (self.selection, self.token, self.marks) = (selection, token, marks)
        }
    }

    static let magic: [UInt8] = Array("TRLPEER1".utf8)
    static let maxEntries = 64
    /// Serialises read-modify-write cycles in this process (and `writeAtomically`'s temporary name
    /// is per process): a lock over a region, guarding no value of its own.
    private static let saving = NSLock()

    /// The saved entries; a missing or damaged file means none (first contact).
    static func load(in store: any CommitStore, peer: String) -> [Entry] {
        guard let bytes = try? store.setting(.peerState(peer: peer)), bytes.count > 40,
              Blake2b256.hash(bytes.dropLast(32)) == Array(bytes.suffix(32)),
              let entries = try? decode(Array(bytes.dropLast(32)), peer: peer)
        else { return [] }
        return entries
    }

    package static func entry(in store: any CommitStore, peer: String, selection: [String]) -> Entry? {
        load(in: store, peer: peer).last { $0.selection == selection }
    }

    /// Saves `entry`, replacing any with the same selection; the oldest entries go past 64.
    package static func save(in store: any CommitStore, peer: String, _ entry: Entry) throws(TrellisError) {
        saving.lock()
        defer { saving.unlock() }
        try save(entry, peer: peer, in: store)
    }

    private static func save(_ entry: Entry, peer: String, in store: any CommitStore) throws(TrellisError) {
        var entries = load(in: store, peer: peer).filter { $0.selection != entry.selection }
        entries.append(entry)
        if entries.count > maxEntries { entries.removeFirst(entries.count - maxEntries) }
        var w = ByteWriter(capacity: 256)
        w.raw(magic)
        w.string(peer)
        w.varint(UInt64(entries.count))
        for e in entries {
            w.varint(UInt64(e.selection.count))
            for name in e.selection { w.string(name) }
            w.raw(e.token)
            let marks = e.marks.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            w.varint(UInt64(marks.count))
            for (name, mark) in marks {
                w.string(name)
                w.varint(mark)
            }
        }
        w.raw(Blake2b256.hash(w.bytes))
        try store.saveSetting(.peerState(peer: peer), w.bytes)
    }

    private static func decode(_ bytes: [UInt8], peer: String) throws(TrellisError) -> [Entry] {
        var r = ByteReader(bytes)
        guard Array(try r.raw(8)) == magic, try r.string() == peer else { throw TrellisError(.corruptData, "not this peer's state") }
        var entries: [Entry] = []
        for _ in 0..<(try r.length()) {
            var selection: [String] = []
            for _ in 0..<(try r.length()) { selection.append(try r.string()) }
            let token = Array(try r.raw(32))
            var marks: [String: UInt64] = [:]
            for _ in 0..<(try r.length()) {
                let name = try r.string()
                marks[name] = try r.varint()
            }
            entries.append(Entry(selection: selection, token: token, marks: marks))
        }
        guard r.isAtEnd else { throw TrellisError(.corruptData, "trailing bytes") }
        return entries
    }
}

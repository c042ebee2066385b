import TrellisCore

/// Reads every commit of a repository that can still be read, whatever is damaged: packs
/// block by block (skipping to the next block the index knows after a bad one), logs and the
/// `log.damaged-*` side files frame by frame (resynchronising at the next frame magic).
/// `fsck` reports what it finds; `fsck --repair` rewrites the survivors into a fresh pack.
struct Salvage {
    struct Found {
        let commit: SignedCommit
        /// Stored generation (packs); nil for commits read from logs.
        let generation: UInt32?
        /// The file it was read from, and where in it ("entry N", "frame at offset N").
        let file: String
        /// Where in the file: a pack entry's number, or a log frame's offset.
        var place: Place
        enum Place {
            case entry(Int), frame(offset: Int)
            var description: String {
                switch self {
                case .entry(let n): "entry \(n)"
                case .frame(let offset): "frame at offset \(offset)"
                }
            }
        }
        /// The `log.damaged-*` file it was read from: outside the store until repaired.
        var sideFile: String? = nil
    }

    var commits: [Found] = []
    /// One line per damaged object: file and offset, or commit id.
    var problems: [String] = []
    /// Files with damage: packs to move aside, logs to copy aside.
    var damagedPacks: [String] = []
    var damagedLog = false
    var frames = 0
    var readers: [PackReader] = []

    static func repository(name: String, directory: String) -> Salvage {
        var s = Salvage()
        let packs = directory + "/packs"
        for file in (try? FileSystem.list(packs)) ?? [] where file.hasSuffix(".pack") {
            s.readPack(packs + "/" + file)
        }
        s.damagedLog = s.readLog(directory + "/log", mustHaveHeader: true)
        for file in (try? FileSystem.list(directory)) ?? [] where file.hasPrefix("log.damaged-") {
            _ = s.readLog(directory + "/" + file, mustHaveHeader: false)
        }
        s.authenticate(name, liveLog: directory + "/log")
        // Intact commits that only a side file holds (a cut tail, a log moved aside) are lost
        // to the store until a repair brings them back.
        let stored = Set(s.commits.filter { $0.sideFile == nil }.map(\.commit.id))
        var reported = Set<CommitID>()
        for found in s.commits {
            guard let file = found.sideFile, !stored.contains(found.commit.id), reported.insert(found.commit.id).inserted else { continue }
            s.problems.append("repository '\(name)' commit \(found.commit.id.hex): only in \(file), outside the store (run `trellis fsck --repair` to restore it)")
        }
        return s
    }

    private mutating func readPack(_ path: String) {
        let reader: PackReader
        do { reader = try PackReader(path: path) } catch {
            problems.append("\(path): \(error.message)")
            damagedPacks.append(path)
            return
        }
        readers.append(reader)
        if let problem = reader.indexProblem {
            problems.append("\(reader.indexPath): \(problem)")
        }
        var damaged = false
        do { try reader.verifyChecksum() } catch {
            problems.append(error.message)
            damaged = true
        }
        let readable = reader.salvageEntries { message in
            problems.append(message)
            damaged = true
        }
        // Decoded on every core: it is most of the work of reading a pack.
        let decoded = Parallel.map(readable.map(\.1.encoded)) { encoded in
            Result { () throws(TrellisError) in try Commit.decode(encoded) }
        }
        var seen = [Bool](repeating: false, count: reader.entryCount)
        var distinct = 0
        for ((number, entry), commit) in zip(readable, decoded) {
            if number < seen.count, !seen[number] { seen[number] = true; distinct += 1 }
            switch commit {
            case .success(let commit):
                // The entry's id was just hashed from these bytes (salvageEntries).
                let c = SignedCommit(commit: commit, id: entry.id, encoded: entry.encoded, signature: entry.signature)
                if reader.indexProblem == nil, !reader.candidates(for: c.id).contains(UInt32(number)) {
                    problems.append("\(reader.indexPath): does not map commit \(c.id.hex) to entry \(number)")
                }
                commits.append(Found(commit: c, generation: entry.generation, file: path, place: .entry(number)))
            case .failure(let error):
                problems.append("\(path) entry \(number) (commit \(entry.id.hex)): \(error.message)")
                damaged = true
            }
        }
        if distinct != reader.entryCount { damaged = true }
        if damaged { damagedPacks.append(path) }
    }

    /// Returns true when the file had damage.
    private mutating func readLog(_ path: String, mustHaveHeader: Bool) -> Bool {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readAll(path) } catch {
            problems.append("\(path): \(error.message)")
            return true
        }
        var offset = 0
        var damaged = false
        if mustHaveHeader {
            offset = LogFile.fileMagic.count
            if Array(bytes.prefix(LogFile.fileMagic.count)) != LogFile.fileMagic {
                // The frames are self-delimiting: read on from the first frame magic.
                problems.append("\(path): bad file header")
                damaged = true
                offset = Frame.nextMagic(in: bytes, from: 0) ?? bytes.count
            }
        } else if Array(bytes.prefix(4)) != Frame.magic {
            offset = Frame.nextMagic(in: bytes, from: 1) ?? bytes.count
        }
        while offset < bytes.count {
            do throws(TrellisError) {
                let header = try Frame.header(Array(bytes[offset..<min(bytes.count, offset + Frame.headerSize)]))
                guard offset + header.totalLength <= bytes.count else {
                    throw TrellisError(.corruptData, "frame runs past the end of the file")
                }
                let frame = try Frame.decode(header, frame: Array(bytes[offset..<offset + header.totalLength]))
                frames += 1
                for c in frame {
                    do throws(TrellisError) {
                        commits.append(Found(commit: try SignedCommit.decoded(encoded: c.encoded, signature: c.signature), generation: nil,
                                             file: path, place: .frame(offset: offset), sideFile: mustHaveHeader ? nil : path))
                    } catch {
                        problems.append("\(path) commit \(c.id.hex) (frame at offset \(offset)): \(error.message)")
                        damaged = true
                    }
                }
                offset += header.totalLength
            } catch {
                // Side files hold damage by definition; only the live log's damage is news.
                if mustHaveHeader { problems.append("\(path) offset \(offset): \(error.message)") }
                damaged = true
                offset = Frame.nextMagic(in: bytes, from: offset + 1) ?? bytes.count
            }
        }
        return damaged
    }

    /// Checks the signatures of what was read (docs/format.md §Covered signatures): each
    /// commit's own, or a later commit's by the same author that covers it. Commits that fail
    /// are reported and dropped, and their files count as damaged.
    private mutating func authenticate(_ name: String, liveLog: String) {
        var checked: [CommitID: Bool] = [:]
        var checkedCopies: [Int: Bool] = [:]
        while true {
            // One copy of each commit, a signed one where there is one.
            var chosen: [CommitID: Int] = [:]
            for (i, found) in commits.enumerated() {
                if let j = chosen[found.commit.id], !commits[j].commit.signature.isEmpty || found.commit.signature.isEmpty { continue }
                chosen[found.commit.id] = i
            }
            let unique = chosen.values.sorted()
            let needs = SignatureCoverage.plan(unique.map { commits[$0].commit.coverageItem })
            let toCheck = zip(unique, needs).filter { $0.1 == .verify && checked[commits[$0.0].commit.id] == nil }.map { commits[$0.0].commit }
            for (c, ok) in zip(toCheck, Parallel.map(toCheck) { (try? $0.checkSignature()) != nil }) { checked[c.id] = ok }
            var failed: [CommitID: String] = [:]
            for (i, need) in zip(unique, needs) {
                let c = commits[i].commit
                switch need {
                case .recompute:
                    if (try? c.checkSignature()) == nil { failed[c.id] = "has no author but is not an unsigned merge" }
                case .verify:
                    if checked[c.id] == false { failed[c.id] = "has an invalid signature" }
                case .covered: break
                case .missing: failed[c.id] = "has no signature, and no later commit by its author covers it"
                }
            }
            // A second copy whose signature differs from the chosen one's is checked too.
            let others = commits.indices.filter { i in
                guard let j = chosen[commits[i].commit.id], j != i, !commits[i].commit.signature.isEmpty else { return false }
                return commits[i].commit.signature != commits[j].commit.signature && checkedCopies[i] == nil
            }
            for (i, ok) in zip(others, Parallel.map(others.map { commits[$0].commit }) { (try? $0.checkSignature()) != nil }) { checkedCopies[i] = ok }
            var badCopies = Set<Int>()
            for (i, ok) in checkedCopies where !ok && failed[commits[i].commit.id] == nil {
                reject(commits[i], "has an invalid signature", repository: name, liveLog: liveLog)
                badCopies.insert(i)
            }
            if !badCopies.isEmpty {
                commits = commits.enumerated().filter { !badCopies.contains($0.offset) }.map(\.element)
                checkedCopies = [:]
            }
            guard !failed.isEmpty else { return }
            for found in commits {
                if let why = failed[found.commit.id] { reject(found, why, repository: name, liveLog: liveLog) }
            }
            // Dropping a commit can leave the ancestors it covered without cover: check again.
            commits.removeAll { failed[$0.commit.id] != nil }
            checkedCopies = [:]
        }
    }

    /// Reports a copy of a commit that fails authentication and marks its file as damaged.
    private mutating func reject(_ found: Found, _ why: String, repository name: String, liveLog: String) {
        problems.append("\(found.file) \(found.place.description) (repository '\(name)' commit \(found.commit.id.hex)): \(why)")
        if found.file == liveLog {
            damagedLog = true
        } else if found.generation != nil, !damagedPacks.contains(found.file) {
            damagedPacks.append(found.file)
        }
    }
}

extension PackReader {
    /// Every entry that can be read and resolved, with its number. Damage is reported through
    /// `problem`; after a bad block the walk goes on at the next block the index lists.
    func salvageEntries(problem: (String) -> Void) -> [(Int, PackEntry)] {
        var out: [(Int, PackEntry)] = []
        var byNumber: [Int: (CommitID, [UInt8])] = [:]
        for (b, block) in blocks.enumerated() {
            let entries: [RawPackEntry]
            do { entries = try rawBlock(b) } catch {
                problem(error.message)
                continue
            }
            for (i, raw) in entries.enumerated() {
                let number = block.first + i
                var encoded = Array(raw.payload)
                if raw.distance > 0 {
                    guard let base = byNumber[number - raw.distance] else {
                        problem("\(path) entry \(number): its delta base is damaged")
                        continue
                    }
                    do { encoded = try Delta.apply(raw.payload, base: base.1, baseID: base.0) } catch {
                        problem("\(path) entry \(number): \(error.message)")
                        continue
                    }
                }
                let id = CommitID.of(encoded)
                byNumber[number] = (id, encoded)
                out.append((number, PackEntry(id: id, generation: raw.generation, seq: raw.seq, encoded: encoded, signature: Array(raw.signature),
                                              distance: raw.distance)))
            }
        }
        return out
    }
}

import TrellisCore

/// A read-only check of a whole store (docs/architecture.md §fsck): every frame's checksum and
/// encoding, every commit's id and signature, every parent, every merge by recomputation.
/// It never repairs or cuts anything, so it is safe on a damaged store.
public enum Fsck {
    public struct Report: Sendable {
        public var repositories = 0
        public var frames = 0
        public var commits = 0
        /// One line per damaged object: file and offset, or repository and commit id.
        public var problems: [String] = []
        public var isClean: Bool { problems.isEmpty }
    }

    public static func check(storeAt path: String) throws(TrellisError) -> Report {
        var report = Report()
        let format = try FileSystem.readAll(path + "/FORMAT")
        guard String(decoding: format, as: UTF8.self) == StorageEngine.formatLine else {
            throw TrellisError(.corruptData, "\(path)/FORMAT names an unknown store format")
        }
        for name in try FileSystem.list(path + "/repos") where StorageEngine.isValidRepositoryName(name) {
            report.repositories += 1
            checkRepository(name, logPath: path + "/repos/" + name + "/log", into: &report)
        }
        return report
    }

    static func checkRepository(_ name: String, logPath: String, into report: inout Report) {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readAll(logPath) } catch {
            report.problems.append("\(logPath): \(error.message)")
            return
        }
        guard Array(bytes.prefix(LogFile.fileMagic.count)) == LogFile.fileMagic else {
            report.problems.append("\(logPath): bad file header")
            return
        }
        var graph = MemoryCommitGraph()
        var keys: [CommitID: String] = [:]
        var merges: [SignedCommit] = []
        var offset = LogFile.fileMagic.count
        while offset < bytes.count {
            do throws(TrellisError) {
                let header = try Frame.header(Array(bytes[offset..<min(bytes.count, offset + Frame.headerSize)]))
                guard offset + header.totalLength <= bytes.count else {
                    throw TrellisError(.corruptData, "frame runs past the end of the file")
                }
                let commits = try Frame.decode(header, frame: Array(bytes[offset..<offset + header.totalLength]))
                report.frames += 1
                for c in commits {
                    report.commits += 1
                    do throws(TrellisError) {
                        let verified = try SignedCommit.verify(encoded: c.encoded, signature: c.signature)
                        guard verified.commit.repository == name else {
                            throw TrellisError(.corruptData, "belongs to repository '\(verified.commit.repository)'")
                        }
                        for p in verified.commit.parents where keys[p] != verified.commit.key {
                            throw TrellisError(.corruptData, keys[p] == nil ? "parent \(p.short) is missing" : "parent \(p.short) is another key's")
                        }
                        graph.add(verified)
                        keys[verified.id] = verified.commit.key
                        if verified.commit.kind.isMerge { merges.append(verified) }
                    } catch {
                        report.problems.append("repository '\(name)' commit \(c.id.hex) (frame at offset \(offset)): \(error.message)")
                    }
                }
                offset += header.totalLength
            } catch {
                report.problems.append("\(logPath) offset \(offset): \(error.message)")
                // Resynchronise at the next frame magic, so later intact frames are still checked.
                offset = nextMagic(in: bytes, after: offset) ?? bytes.count
            }
        }
        for m in merges {
            do throws(TrellisError) {
                let recomputed = try HeadMerge.mergeCommit(repository: name, key: m.commit.key, heads: m.commit.parents, source: graph)
                if recomputed.commit.encoded() != m.encoded {
                    report.problems.append("repository '\(name)' merge commit \(m.id.hex): does not match the merge of its parents")
                }
            } catch {
                report.problems.append("repository '\(name)' merge commit \(m.id.hex): cannot be recomputed: \(error.message)")
            }
        }
    }

    static func nextMagic(in bytes: [UInt8], after offset: Int) -> Int? {
        var i = offset + 1
        while i + Frame.magic.count <= bytes.count {
            if bytes[i] == Frame.magic[0], Array(bytes[i..<i + Frame.magic.count]) == Frame.magic { return i }
            i += 1
        }
        return nil
    }
}

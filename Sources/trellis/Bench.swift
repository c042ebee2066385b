import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine's speed.",
        subcommands: [BenchMerge.self, BenchTextMerge.self])
}

struct BenchMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merges per second, single-threaded, on three workloads.",
        discussion: "Each merge includes the lowest-common-ancestor search and the creation of the merge commit. Build with -c release for meaningful figures; the median of --runs runs is reported.")

    @Option(help: "Seconds per run.") var seconds: Double = 1
    @Option(help: "Runs per workload; the median is reported.") var runs: Int = 5
    @Option(help: ArgumentHelp("Also write the 50-line text case to DIR as base, ours and theirs, for git merge-file.", valueName: "DIR"))
    var writeCases: String?
    @Option(help: ArgumentHelp("Only this workload: records, text or counters.", valueName: "NAME"))
    var workload: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
        guard runs >= 1, runs <= 100 else { throw ValidationError("--runs must be 1 to 100") }
        if let workload, !MergeWorkload.ids.contains(workload) {
            throw ValidationError("--workload must be one of \(MergeWorkload.ids.joined(separator: ", ")), not '\(workload)'")
        }
    }

    func run() throws {
        if let dir = writeCases {
            let t = MergeWorkload.fiftyLines()
            for (name, text) in [("base", t.base), ("ours", t.ours), ("theirs", t.theirs)] {
                try Data(text.utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
            }
        }
        var results: [JSON] = []
        for workload in try MergeWorkload.all() where self.workload.map({ $0 == workload.id }) ?? true {
            var rates: [Double] = []
            for _ in 0..<runs {
                rates.append(try workload.measure(seconds: seconds))
                if !json { FileHandle.standardError.write(Data(".".utf8)) }
            }
            let median = rates.sorted()[rates.count / 2]
            if json {
                results.append(.object([("id", .string(workload.id)), ("workload", .string(workload.name)), ("merges_per_second", .int(Int64(median))),
                                        ("runs", .array(rates.map { .int(Int64($0)) }))]))
            } else {
                FileHandle.standardError.write(Data("\n".utf8))
                print("\(workload.name): \(Int(median)) merges/s (median of \(runs))")
            }
        }
        if json { Output.json(.array(results)) }
    }
}

struct BenchTextMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-merge",
        abstract: "Text merges per second of three files, in process, single-threaded.",
        discussion: """
            Each merge is what merge-file does after reading the files: the line merge, the word \
            pass over conflicting hunks and the merged text with conflict markers. \
            scripts/bench-text-merge.sh runs libgit2's git_merge_file on the same files beside it.

            Example: trellis bench text-merge ours.txt base.txt theirs.txt --runs 5
            """)

    @Argument(help: "Our version.") var ours: String
    @Argument(help: "The common ancestor.") var base: String
    @Argument(help: "Their version.") var theirs: String
    @Option(help: "Seconds per run.") var seconds: Double = 1
    @Option(help: "Runs; the median is reported.") var runs: Int = 5
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
        guard runs >= 1, runs <= 100 else { throw ValidationError("--runs must be 1 to 100") }
    }

    func run() throws {
        let texts = try MergeFile.readTexts([ours, base, theirs])
        var rates: [Double] = []
        for _ in 0..<runs {
            var count = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed: UInt64 = 0
            repeat {
                for _ in 0..<256 {
                    blackHole(FileMerge.merge(ours: texts[0], base: texts[1], theirs: texts[2], oursLabel: ours,
                                              theirsLabel: theirs, prefer: .none))
                    count += 1
                }
                elapsed = DispatchTime.now().uptimeNanoseconds - start
            } while elapsed < UInt64(seconds * 1e9)
            rates.append(Double(count) / (Double(elapsed) / 1e9))
        }
        let median = rates.sorted()[rates.count / 2]
        if json {
            Output.json(.object([("merges_per_second", .int(Int64(median))), ("runs", .array(rates.map { .int(Int64($0)) }))]))
        } else {
            print("\(Int(median)) merges/s (median of \(runs))")
        }
    }
}

/// Keeps a result alive so the optimizer cannot drop the work that made it.
@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

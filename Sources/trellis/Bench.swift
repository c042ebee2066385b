import ArgumentParser
import Foundation
import Trellis
import TrellisCore

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine's speed.",
        subcommands: [BenchMerge.self, BenchTextMerge.self, BenchOpen.self])
}

struct BenchMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merges per second, single-threaded, on three workloads or on a repository's own merges.",
        discussion: """
            Each merge includes the lowest-common-ancestor search and the creation of the merge commit. Build with \
            -c release for meaningful figures; the median of --runs runs is reported.

            With REPO, replays that repository's own divergent heads instead: the parents of its newest merge \
            commits and the heads of every record that has several now (at most --limit), from a copy of those \
            records' histories in memory. It reads the store and never writes to it; a stored merge commit that \
            replaying does not give again is reported and makes the command fail.

            Examples: trellis bench merge --workload text
                      trellis bench merge --store ~/notes/.trellis notes --json
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "Replay this repository's merges (of the store --store names) instead of the built-in workloads.")
    var repo: String?
    @Option(help: "With REPO: replay at most this many merges, newest first.") var limit: Int = 1000
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
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        if repo != nil, workload != nil || writeCases != nil {
            throw ValidationError("REPO replays the store's merges: --workload and --write-cases are for the built-in workloads")
        }
    }

    func run() throws {
        if let repo { return try replay(repo) }
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
            let rate = median(rates)
            if json {
                results.append(.object([("id", .string(workload.id)), ("workload", .string(workload.name)), ("merges_per_second", .int(Int64(rate))),
                                        ("runs", .array(rates.map { .int(Int64($0)) }))]))
            } else {
                FileHandle.standardError.write(Data("\n".utf8))
                print("\(workload.name): \(Int(rate)) merges/s (median of \(runs))")
            }
        }
        if json { Output.json(.array(results)) }
    }

    private func replay(_ name: String) throws {
        try reportingErrors { () throws(TrellisError) in
            let replay = try MergeReplay(try options.open().existingRepository(name), limit: limit)
            let mismatches = try replay.mismatches()
            var rates: [Double] = []
            for _ in 0..<runs {
                rates.append(try replay.measure(seconds: seconds))
                if !json { FileHandle.standardError.write(Data(".".utf8)) }
            }
            let rate = median(rates)
            let stored = replay.cases.filter { $0.stored != nil }.count
            if json {
                Output.json(.object([("repository", .string(name)), ("merges", .int(Int64(replay.cases.count))),
                                     ("merge_commits", .int(Int64(stored))), ("several_heads", .int(Int64(replay.cases.count - stored))),
                                     ("merges_per_second", .int(Int64(rate))), ("runs", .array(rates.map { .int(Int64($0)) })),
                                     ("mismatches", .int(Int64(mismatches)))]))
            } else {
                FileHandle.standardError.write(Data("\n".utf8))
                print("\(name): \(replay.cases.count) merges replayed (\(stored) merge commits, \(replay.cases.count - stored) records with several heads): \(Int(rate)) merges/s (median of \(runs))")
            }
            guard mismatches == 0 else {
                throw TrellisError(.corruptData, "\(mismatches) of \(stored) stored merge commits differ from their replay (run `trellis fsck`)")
            }
        }
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
    @Option(help: ArgumentHelp("Exactly this many merges per run instead of --seconds.",
                               discussion: "For counting instructions: valgrind --tool=callgrind counts the same work every time."))
    var merges: Int?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
        guard runs >= 1, runs <= 100 else { throw ValidationError("--runs must be 1 to 100") }
        if let merges, merges < 1 || merges > 100_000_000 { throw ValidationError("--merges must be 1 to 100000000") }
    }

    func run() throws {
        let texts = try MergeFile.readTexts([ours, base, theirs])
        var rates: [Double] = [], counts: [Int] = []
        for _ in 0..<runs {
            var count = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed: UInt64 = 0
            repeat {
                for _ in 0..<min(256, merges.map { $0 - count } ?? 256) {
                    blackHole(FileMerge.merge(ours: texts[0], base: texts[1], theirs: texts[2], oursLabel: ours,
                                              theirsLabel: theirs, prefer: .none))
                    count += 1
                }
                elapsed = DispatchTime.now().uptimeNanoseconds - start
            } while merges.map { count < $0 } ?? (elapsed < UInt64(seconds * 1e9))
            rates.append(Double(count) / (Double(elapsed) / 1e9))
            counts.append(count)
        }
        let rate = median(rates)
        if json {
            Output.json(.object([("merges_per_second", .int(Int64(rate))), ("runs", .array(rates.map { .int(Int64($0)) })),
                                 ("merges", .array(counts.map { .int(Int64($0)) }))]))
        } else {
            print("\(Int(rate)) merges/s (median of \(runs))")
        }
    }
}

struct BenchOpen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Time to open a store and read one record, in process, and the time of a get on the open store.",
        discussion: """
            Each of --runs runs opens the store afresh and reads KEY of REPO; the median of those times is \
            reported (the files stay in the page cache between runs, as they do for an app that reopens its \
            store). Then, on one open store, --gets reads of keys spread over the repository give the median \
            time of one get, and --gets reads of KEY again the time of a get whose record is in memory. Also reports the process's peak resident memory. Reads never change the store.

            Example: trellis bench open --store big bench rec-000001 --json
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "The record read after each open.") var key: String
    @Option(help: "Opens; the median is reported.") var runs: Int = 5
    @Option(help: "Gets timed on the open store, of keys spread over the repository.") var gets: Int = 10000
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard runs >= 1, runs <= 100 else { throw ValidationError("--runs must be 1 to 100") }
        guard gets >= 1, gets <= 10_000_000 else { throw ValidationError("--gets must be 1 to 10000000") }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let path = try options.locate(), configuration = try options.configuration()
            var opens: [Double] = []
            var store: Store? = nil
            for _ in 0..<runs {
                store = nil  // the previous run's store is torn down before the clock starts
                let start = DispatchTime.now().uptimeNanoseconds
                let opened = try Store.open(path, create: false, configuration: configuration)
                guard try opened.existingRepository(repo).get(key) != nil else {
                    throw TrellisError(.notFound, "no record '\(key)' in '\(repo)'")
                }
                opens.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                store = opened
            }
            guard let repository = try store?.existingRepository(repo) else { return }
            let keys = try repository.keys()
            // Keys spread evenly over the repository, in an order that jumps around it.
            let spread = (0..<gets).lazy.map { keys[($0 &* 7_919) % keys.count] }
            let read = { (k: String) throws(TrellisError) in blackHole(try repository.get(k)) }
            let get = median(try microseconds(each: spread, read))
            // The same record again and again: what a get costs once its block is in memory.
            let again = median(try microseconds(each: repeatElement(key, count: gets), read))
            let open = median(opens)
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            let peak = Double(usage.ru_maxrss) / 1024
            if json {
                Output.json(.object([("open_seconds", .double(open)), ("opens", .array(opens.map { .double($0) })),
                                     ("get_microseconds", .double(get)), ("same_get_microseconds", .double(again)), ("records", .int(Int64(keys.count))),
                                     ("peak_mib", .double(peak))]))
            } else {
                print(String(format: "open + get: %.1f ms (median of %d); get: %.2f µs (median of %d over %d records), %.2f µs for the same record again; peak %.0f MiB",
                             open * 1000, runs, get, gets, keys.count, again, peak))
            }
        }
    }
}

/// The middle value of a non-empty list (the upper of the two middle ones of an even count).
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// How many microseconds one call of `body` takes, for each of `inputs` in turn.
func microseconds<T>(each inputs: some Sequence<T>, _ body: (T) throws(TrellisError) -> Void) throws(TrellisError) -> [Double] {
    var times: [Double] = []
    times.reserveCapacity(inputs.underestimatedCount)
    for input in inputs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body(input)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3)
    }
    return times
}

/// Keeps a result alive so the optimizer cannot drop the work that made it.
@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

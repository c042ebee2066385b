import Benchmark
import Trellis

/// One iteration is one merge of two heads: lowest-common-ancestor search, document merge and
/// creation of the merge commit (encoding and BLAKE2b id), as `trellis bench merge` measures.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3)
    )
    let workloads = (try? MergeWorkload.all()) ?? []
    for workload in workloads {
        Benchmark("merge: \(workload.name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try? workload.mergeOnce())
            }
        }
    }
}

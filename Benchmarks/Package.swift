// swift-tools-version: 6.1
// Benchmarks live in their own package so that `swift test` at the top level never builds them.
// Run: cd Benchmarks && swift package benchmark   (scripts/bench.sh does this)
import PackageDescription
import class Foundation.NSString

// A path dependency is named after its directory, whatever the clone is called.
let trellisPackage = ((#filePath as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
let trellisIdentity = (trellisPackage as NSString).lastPathComponent

let package = Package(
    name: "TrellisBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    // One executable target per area, each in Benchmarks/NAME, as the benchmark plugin expects.
    targets: ["Storage", "History", "Merge", "Sync", "Server", "AsyncAPI"].map { name in
        .executableTarget(
            name: name,
            dependencies: [
                .product(name: "Trellis", package: trellisIdentity),
                .product(name: "TrellisClient", package: trellisIdentity),
                .product(name: "TrellisServer", package: trellisIdentity),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/\(name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    }
)

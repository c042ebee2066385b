// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Trellis",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Trellis", targets: ["Trellis"]),
        .executable(name: "trellis", targets: ["trellis"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "TrellisSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "TrellisLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .target(name: "TrellisCrypto", dependencies: ["TrellisSodium"]),
        .target(name: "TrellisCore", dependencies: ["TrellisCrypto", .product(name: "HeapModule", package: "swift-collections")]),
        .target(name: "TrellisStorage", dependencies: ["TrellisCore", "TrellisCrypto", "TrellisLZ4"]),
        .target(name: "TrellisSync", dependencies: ["TrellisCore", "TrellisStorage", "TrellisCrypto"]),
        .target(name: "Trellis", dependencies: ["TrellisCore", "TrellisStorage", "TrellisCrypto", "TrellisSync"]),
        .executableTarget(
            name: "trellis",
            dependencies: [
                "Trellis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TrellisTestSupport", dependencies: ["Trellis"], path: "Tests/TrellisTestSupport"),
        .testTarget(name: "TrellisCryptoTests", dependencies: ["TrellisCrypto"]),
        .testTarget(name: "TrellisCoreTests", dependencies: ["TrellisCore", "TrellisTestSupport"]),
        .testTarget(name: "TrellisStorageTests", dependencies: ["TrellisStorage", "TrellisTestSupport"]),
        .testTarget(name: "TrellisSyncTests", dependencies: ["TrellisSync", "TrellisTestSupport"]),
        .testTarget(name: "TrellisTests", dependencies: ["Trellis", "TrellisTestSupport"]),
        .testTarget(name: "TrellisCLITests", dependencies: ["TrellisTestSupport"]),
    ]
)

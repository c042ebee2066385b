// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Trellis",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Trellis", targets: ["Trellis"]),
        .library(name: "TrellisClient", targets: ["TrellisClient"]),
        .library(name: "TrellisServer", targets: ["TrellisServer"]),
        .executable(name: "trellis", targets: ["trellis"]),
        .executable(name: "trellis-merge-file", targets: ["trellis-merge-file"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
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
        // glibc's mallopt, which the trellis executable uses to keep freed memory.
        .systemLibrary(name: "TrellisMalloc"),
        .target(name: "TrellisCrypto", dependencies: ["TrellisSodium"]),
        // Line diff, diff3 and the text merge: plain Swift, no dependencies.
        .target(name: "TrellisText"),
        .target(name: "TrellisCore", dependencies: ["TrellisText", "TrellisCrypto", .product(name: "HeapModule", package: "swift-collections")]),
        .target(name: "TrellisStorage", dependencies: ["TrellisCore", "TrellisCrypto", "TrellisLZ4"]),
        .target(name: "TrellisSync", dependencies: ["TrellisCore", "TrellisStorage", "TrellisCrypto"]),
        .target(name: "Trellis", dependencies: ["TrellisCore", "TrellisStorage", "TrellisCrypto", "TrellisSync", .product(name: "Logging", package: "swift-log"), .product(name: "HeapModule", package: "swift-collections")]),
        // The WebSocket client (`Store.sync(url:)`, `Store.changes(from:)`) and the wire messages
        // it shares with the server: an app links it without the server.
        .target(
            name: "TrellisClient",
            dependencies: [
                "Trellis", "TrellisSync", "TrellisStorage", "TrellisCore", "TrellisCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .target(
            name: "TrellisServer",
            dependencies: [
                "Trellis", "TrellisClient", "TrellisSync", "TrellisStorage", "TrellisCore", "TrellisCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ]
        ),
        .executableTarget(
            name: "trellis",
            dependencies: [
                "Trellis", "TrellisClient", "TrellisServer", "TrellisMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `trellis merge-file` in a small executable over TrellisText alone: fast to start.
        .executableTarget(name: "trellis-merge-file", dependencies: ["TrellisText"]),
        // Fuzz harnesses (scripts/fuzz.sh); built normally, it replays saved inputs.
        .executableTarget(
            name: "trellis-fuzz",
            dependencies: ["TrellisCore", "TrellisCrypto", "TrellisStorage", "TrellisSync", "TrellisClient", "TrellisServer"]
        ),
        // The program of issue 14, carried unchanged: it must compile and run against the package.
        .executableTarget(name: "trellis-api-check", dependencies: ["Trellis"], path: "Tests/APICheck"),
        .target(name: "TrellisTestSupport", dependencies: ["Trellis", "TrellisStorage"], path: "Tests/TrellisTestSupport"),
        .testTarget(name: "TrellisCryptoTests", dependencies: ["TrellisCrypto"]),
        .testTarget(name: "TrellisCoreTests", dependencies: ["TrellisCore", "TrellisTestSupport"]),
        .testTarget(name: "TrellisStorageTests", dependencies: ["TrellisStorage", "TrellisTestSupport"]),
        .testTarget(name: "TrellisSyncTests", dependencies: ["TrellisSync", "TrellisTestSupport"]),
        .testTarget(name: "TrellisTests", dependencies: ["Trellis", "TrellisTestSupport"]),
        .testTarget(name: "TrellisServerTests", dependencies: ["TrellisServer", "TrellisClient", "TrellisSync", "TrellisStorage", "TrellisCrypto", "TrellisTestSupport"]),
        .testTarget(name: "TrellisCLITests", dependencies: ["TrellisTestSupport"]),
    ]
)

import Foundation
import Logging
import Synchronization
import Testing
import Trellis
import TrellisTestSupport

/// Keeps every line logged to it.
private struct CapturingLogHandler: LogHandler {
    let captured: Captured
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        captured.lines.withLock { $0.append("\(level) \(message)") }
    }
}

private final class Captured: Sendable {
    let lines = Mutex<[String]>([])
    var logger: Logger { Logger(label: "trellis.test") { _ in CapturingLogHandler(captured: self) } }
}

@Test func aConfigurationIsFixedAtOpen() throws {
    let dir = TemporaryDirectory()
    let configuration = Store.Configuration(durability: .batched, lockTimeout: 0.5, sealThreshold: 4096)
    let store = try Store.open(dir.file("s"), configuration: configuration)
    #expect(store.durability == .batched && store.lockTimeout == 0.5 && store.sealThreshold == 4096)
    #expect(store.fileEngine?.durability == .batched && store.fileEngine?.lockTimeout == 0.5 && store.fileEngine?.sealThreshold == 4096)
    // The seal threshold takes effect: a few writes seal the log into a pack.
    let r = try store.repository("r")
    for i in 0..<40 { try r.put("k\(i)", value: ["pad": String(repeating: "x", count: 200)]) }
    store.flush()
    #expect(try store.stats("r").packs >= 1)
    let memory = try Store.inMemory(configuration: configuration)
    #expect(memory.durability == .none && memory.lockTimeout == 0)
}

/// With a logger, warnings (here a damaged log tail, cut by the next writer) are logged as they
/// happen instead of being kept for `takeWarnings()`.
@Test func warningsGoToTheConfiguredLogger() throws {
    let dir = TemporaryDirectory()
    let path = dir.file("s")
    try Store.open(path).repository("r").put("k", value: ["v": 1])
    let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/repos/r/log"))
    try log.seekToEnd()
    try log.write(contentsOf: Data([0x54, 0x52, 0x4C, 0x46, 9, 9, 9, 9, 1, 2, 3]))
    try log.close()
    let captured = Captured()
    let store = try Store.open(path, configuration: Store.Configuration(logger: captured.logger))
    try store.repository("r").put("k", value: ["v": 2])
    #expect(store.takeWarnings().isEmpty)
    let lines = captured.lines.withLock { $0 }
    #expect(lines.contains { $0.hasPrefix("warning ") && $0.contains("damaged log tail") }, "\(lines)")
    #expect(try store.repository("r").get("k", as: [String: Int].self) == ["v": 2])
}

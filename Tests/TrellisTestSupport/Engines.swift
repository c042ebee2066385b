import Trellis
import TrellisStorage

/// The engines a suite runs against: a store directory and a store in memory.
package enum EngineKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case file, memory

    package var description: String { rawValue }

    /// A new, empty engine: in `dir` under `name`, or in memory.
    package func engine(_ dir: TemporaryDirectory, _ name: String) throws -> any RecordStore {
        switch self {
        case .file: try StorageEngine.create(at: dir.file(name))
        case .memory: try MemoryEngine()
        }
    }

    /// A new, empty store: in `dir` under `name`, or in memory.
    package func store(_ dir: TemporaryDirectory, _ name: String) throws -> Store {
        switch self {
        case .file: try Store.open(dir.file(name))
        case .memory: try Store.inMemory()
        }
    }
}

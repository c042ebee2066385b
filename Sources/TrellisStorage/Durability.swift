/// When a write is acknowledged (docs/architecture.md §Durability).
public enum Durability: String, Sendable, CaseIterable {
    /// After fsync: an acknowledged write survives a power failure. Concurrent writers share fsyncs.
    case full
    /// After write(2); logs are fsynced within `batchedFlushDelay`. A crash of the process
    /// loses nothing; a power failure may lose the last fraction of a second.
    case batched
    /// After write(2); the operating system decides when data reaches the disk.
    case none
}


import Foundation
import Logging
import TrellisCore

/// Writes each log record to stderr as one JSON object per line: time, level, label, message
/// and the metadata as string fields (`trellis serve --json-logs`).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, JSON)] = [
            ("time", .string(ISO8601DateFormatter().string(from: Date()))), ("level", .string(event.level.rawValue)),
            ("label", .string(label)), ("message", .string(event.message.description)),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { fields.append((key, .string(value.description))) }
        FileHandle.standardError.write(Data((JSONWriter.write(.object(fields), pretty: false) + "\n").utf8))
    }
}

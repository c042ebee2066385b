import ArgumentParser
import Foundation
import Logging
import Trellis
import TrellisCore
import TrellisClient
import TrellisServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve this store to other stores over WebSocket (ws://HOST:PORT/sync).",
        discussion: """
            Clients run 'trellis sync ws://HOST:PORT' and 'trellis watch ws://HOST:PORT REPO'. Each proves \
            its identity by signing a challenge; each repository's access list ('trellis acl') says who may \
            read and write it, and a repository without one is the server's own. GET /health answers \
            {"status":"ok"}. /ui is a read-only web inspector of the store (repositories, records, history \
            graphs, diffs, blame, conflicts, stats); its URL, with a one-time token unless --open, is printed \
            at start. SIGINT or SIGTERM closes connections and stops. Logs go to stderr. See docs/server.md.
            """)

    @OptionGroup var options: StoreOptions
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0 picks a free one and prints it).") var port: Int
    @Flag(help: "Store nothing: verify the commits clients push and forward them to the other clients of their repository.")
    var relay = false
    @Flag(help: "Let every client read and write every repository (development only).") var open = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.") var logLevel = "info"
    @Flag(help: "Write logs as JSON lines.") var jsonLogs = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
    }

    func run() async throws {
        try await reportingErrors { () async throws(TrellisError) in
            let store = try options.open()
            var config = ServerConfiguration()
            config.host = host
            config.port = port
            config.open = open
            config.relay = relay
            let json = jsonLogs
            var logger = Logger(label: "trellis.server") { label in
                json ? JSONLogHandler(label: label) as any LogHandler : StreamLogHandler.standardError(label: label)
            }
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            let server = try SyncServer(store: store, configuration: config, logger: logger)
            do {
                let token = server.inspectorToken
                try await server.run { host, port in
                    print("listening on ws://\(host):\(port)")
                    if !relay { print("inspector: http://\(host):\(port)/ui\(token.map { "?token=\($0)" } ?? "")") }
                    fflush(nil)
                }
            } catch {
                throw TrellisError(.network, "the server stopped: \(error)")
            }
        }
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stay connected to a server and print each new commit of a repository as it arrives.",
        discussion: """
            The store first catches up with the server, then stores and prints every commit pushed to it, \
            one line each (a JSON object per line with --json). Stops on SIGINT or when the server goes away.
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "The server, ws://HOST:PORT.") var url: String
    @Argument(help: "The repository to watch.") var repo: String
    @Argument(help: "Only this record's commits.") var key: String?
    @Flag(help: "Print JSON lines: the commit's metadata and the record's document.") var json = false

    func run() async throws {
        try await reportingErrors { () async throws(TrellisError) in
            let store = try options.open()
            var names = try DisplayNames(store)
            do {
                for try await change in store.changes(from: url, repository: repo, key: key) {
                    let c = change.commit
                    // A new author may have a name the store learned since (it syncs like any record).
                    if c.author != nil && names.name(c.author) == nil { names = (try? DisplayNames(store)) ?? names }
                    if json {
                        Output.json(.object(Output.info(c, names: names) + [("document", change.document.map(ValueJSON.json) ?? .null)]))
                    } else {
                        print("\(c.id.short) \(Output.kindName(c.kind)) \(c.key) by \(names.describe(c.author)) at \(Output.time(c.timestamp))")
                    }
                    fflush(nil)
                }
            } catch let error as TrellisError {
                throw error
            } catch {
                throw TrellisError(.network, "the watch failed: \(error)")
            }
        }
    }
}

struct AccessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acl",
        abstract: "Show or change who may read and write a repository when this store is served.",
        discussion: """
            'trellis acl REPO' shows the list; 'trellis acl REPO grant KEY read|write' and 'revoke' change it \
            (KEY as 'trellis identity' prints it). Write includes read; revoking read removes write too. A \
            new list is owned by this store's identity. A running server applies a change at its next check, \
            without a restart. A repository with no list is readable and writable only by the server's own \
            identity. See docs/server.md §Access model.
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable { case grant, revoke }

    @OptionGroup var options: StoreOptions
    @Argument(help: "The repository.") var repo: String
    @Argument(help: "grant or revoke.") var action: Action?
    @Argument(help: "The client's public key (64 hex digits).") var key: String?
    @Argument(help: "read or write.") var permission: AccessList.Permission?
    @Flag(help: "Print the list as JSON.") var json = false

    func validate() throws {
        if action != nil && (key == nil || permission == nil) { throw ValidationError("grant and revoke need KEY and read|write") }
        if let key, PublicKey(hex: key) == nil { throw ValidationError("'\(key)' is not a public key (64 hex digits)") }
    }

    func run() throws {
        try reportingErrors { () throws(TrellisError) in
            let store = try options.open()
            var list = try store.accessList(repo)
            if let action, let key = key.flatMap(PublicKey.init(hex:)), let permission {
                list = try store.changeAccess(repo, grant: action == .grant, key, permission)
            }
            let hex = { (keys: [PublicKey]) in keys.map { Hex.encode($0.bytes) } }
            if json {
                Output.json(list.map { l in .object([
                    ("repo", .string(repo)), ("owner", .string(Hex.encode(l.owner.bytes))),
                    ("writers", Output.strings(hex(l.writers))), ("readers", Output.strings(hex(l.readers))),
                ]) } ?? .object([("repo", .string(repo)), ("owner", .null), ("writers", .array([])), ("readers", .array([]))]))
                return
            }
            guard let list else {
                print("\(repo): no access list; only this store's identity may read or write it")
                return
            }
            print("owner  \(Hex.encode(list.owner.bytes))")
            for k in hex(list.writers) { print("write  \(k)") }
            for k in hex(list.readers) { print("read   \(k)") }
        }
    }
}

extension AccessList.Permission: ExpressibleByArgument {}

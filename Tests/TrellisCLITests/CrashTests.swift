import Foundation
import Testing
import TrellisTestSupport

/// Writers are killed with SIGKILL at random moments; every write they acknowledged (printed
/// an id for) must survive, and the store must open and keep working. A tiny seal threshold
/// makes most writes seal the log into a pack, and every seventh step is a repack, so kills
/// also land in the middle of seals and repacks. Every value written is new (a write that
/// changes nothing writes no commit), so every round adds to the log.
@Test func killedWritersLoseNoAcknowledgedWrite() throws {
    let s = try CLIStore()
    var acknowledged: [String] = []
    var generator = SystemRandomNumberGenerator()
    for round in 0..<10 {
        let out = s.dir.file("acked-\(round)")
        let loop = Process()
        loop.executableURL = URL(fileURLWithPath: "/bin/bash")
        loop.arguments = ["-c", #"""
            i=0
            while true; do
              "$0" put r k$((i % 5)) n:=$(( $3 * 100000 + i )) --create --store "$1" >> "$2" || exit 1
              if (( i % 7 == 3 )); then "$0" repack --store "$1" > /dev/null || exit 1; fi
              i=$((i+1))
            done
            """#, TestPaths.trellis, s.store, out, String(round)]
        loop.environment = ProcessInfo.processInfo.environment.merging(["TRELLIS_SEAL_BYTES": "700"]) { $1 }
        try loop.run()
        Thread.sleep(forTimeInterval: Double.random(in: 0.15...0.6, using: &generator))
        // Stop the loop, kill the writer it is running mid-flight, then the loop.
        kill(loop.processIdentifier, SIGSTOP)
        _ = try run("/usr/bin/pkill", ["-KILL", "-P", String(loop.processIdentifier)])
        kill(loop.processIdentifier, SIGKILL)
        loop.waitUntilExit()
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        acknowledged += text.split(separator: "\n").map(String.init).filter { $0.count == 64 }
        // The store opens (cutting any torn tail the kill left) and then checks clean.
        #expect(try trellis(["repos"], store: s.store).status == 0)
        let fsck = try trellis(["fsck"], store: s.store)
        #expect(fsck.status == 0, "fsck after kill \(round): \(fsck.out)")
    }
    #expect(acknowledged.count > 0)
    let log = try s.ok(["log", "r", "--json"])
    let ids = Set(((try JSONSerialization.jsonObject(with: log.stdout)) as! [[String: Any]]).compactMap { $0["id"] as? String })
    for id in acknowledged { #expect(ids.contains(id), "acknowledged write \(id) was lost") }
    #expect(try trellis(["put", "r", "after", "ok=yes"], store: s.store).status == 0)
    let packs = try FileManager.default.contentsOfDirectory(atPath: s.store + "/repos/r/packs")
    #expect(packs.contains { $0.hasSuffix(".pack") })
}

import Foundation
import Testing
import TrellisTestSupport

/// The fuzz harnesses (Sources/trellis-fuzz) run here without libFuzzer: every target's seed
/// inputs, made from real files and messages, and each seed cut short and bit-flipped, go
/// through the same code scripts/fuzz.sh fuzzes. A trap fails the test.
@Test func fuzzHarnessesRunTheirSeedsAndDamagedSeedsWithoutATrap() throws {
    let fuzz = (TestPaths.trellis as NSString).deletingLastPathComponent + "/trellis-fuzz"
    try #require(FileManager.default.isExecutableFile(atPath: fuzz), "\(fuzz) was not built")
    let dir = TemporaryDirectory()
    let seeds = dir.file("seeds")
    let made = try run(fuzz, ["seeds", seeds])
    #expect(made.status == 0, "\(made.stderr)")
    let targets = ["json", "commit", "value", "sync", "server", "bundle", "pack", "index", "checkpoint", "log"]
    for target in targets {
        let inputs = try FileManager.default.contentsOfDirectory(atPath: seeds + "/" + target).sorted()
        #expect(!inputs.isEmpty, "no seeds for \(target)")
        // Variants: cut at every 7th length, and one bit flipped at every 5th byte.
        let variants = dir.file("variants-" + target)
        try FileManager.default.createDirectory(atPath: variants, withIntermediateDirectories: true)
        var n = 0
        for input in inputs {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: seeds + "/" + target + "/" + input)))
            for cut in stride(from: 0, to: bytes.count, by: 7) {
                try Data(bytes[..<cut]).write(to: URL(fileURLWithPath: variants + "/v\(n)"))
                n += 1
            }
            for flip in stride(from: 0, to: bytes.count, by: 5) {
                var damaged = bytes
                damaged[flip] ^= UInt8(1) << UInt8(flip % 8)
                try Data(damaged).write(to: URL(fileURLWithPath: variants + "/v\(n)"))
                n += 1
            }
        }
        let result = try run(fuzz, [target, seeds + "/" + target, variants])
        #expect(result.status == 0, "\(target): \(result.stderr.prefix(2000))")
        #expect(result.out.contains("ran \(inputs.count + n) inputs"), "\(target): \(result.out)")
    }
}

/// The fuzzer's mutator recomputes checksums (Sources/trellis-fuzz/Reseal.swift), so that
/// mutations reach what the checksums cover. A seed damaged inside its body fails its checksum;
/// resealed, it passes the real decoders' checksums and is decoded further.
@Test func resealedMutationsGetPastEveryChecksum() throws {
    let fuzz = (TestPaths.trellis as NSString).deletingLastPathComponent + "/trellis-fuzz"
    try #require(FileManager.default.isExecutableFile(atPath: fuzz), "\(fuzz) was not built")
    let dir = TemporaryDirectory()
    let seeds = dir.file("seeds")
    #expect(try run(fuzz, ["seeds", seeds]).status == 0)
    for target in ["bundle", "pack", "index", "checkpoint", "log"] {
        let damaged = dir.file("damaged-" + target)
        try FileManager.default.createDirectory(atPath: damaged, withIntermediateDirectories: true)
        var n = 0
        for input in try FileManager.default.contentsOfDirectory(atPath: seeds + "/" + target).sorted() {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: seeds + "/" + target + "/" + input)))
            for at in [bytes.count / 3, bytes.count / 2, 2 * bytes.count / 3] {
                var d = bytes
                d[at] ^= 0x10
                try Data(d).write(to: URL(fileURLWithPath: damaged + "/d\(n)"))
                n += 1
            }
        }
        let plain = try run(fuzz, [target, damaged])
        #expect(plain.out.contains("ran \(n) inputs; 0 of \(n) passed their checksums"), "\(target): \(plain.out)")
        let resealed = try run(fuzz, [target, "--reseal", damaged])
        #expect(resealed.status == 0, "\(target): \(resealed.stderr.prefix(2000))")
        #expect(resealed.out.contains("ran \(n) inputs; \(n) of \(n) passed their checksums"), "\(target): \(resealed.out)")
    }
}

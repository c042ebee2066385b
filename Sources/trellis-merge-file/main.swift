// `trellis-merge-file`: the text merge of `trellis merge-file` in a small executable over
// TrellisText alone (no Foundation, no argument parser), so that a process starts about as fast
// as `git merge-file` (docs/benchmarks.md).
#if canImport(Glibc)
import Glibc
#endif
import TrellisText

func put(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { exit(2) }
        bytes = bytes.dropFirst(n)
    }
}

func fail(_ message: String) -> Never {
    put("trellis-merge-file: error: \(message)\n", to: 2)
    exit(2)
}

func choose(_ side: FileMerge.Prefer, over current: FileMerge.Prefer) -> FileMerge.Prefer {
    guard current == .none else { fail("--ours and --theirs exclude each other") }
    return side
}

func readFile(_ path: String) -> String {
    guard let f = fopen(path, "rb") else { fail("cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count {
            if ferror(f) != 0 { fail("cannot read \(path)") }
            break
        }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { fail("\(path) is not UTF-8 text") }
    return text
}

var prefer = FileMerge.Prefer.none
var files: [String] = []
for argument in CommandLine.arguments.dropFirst() {
    switch argument {
    case "-h", "--help":
        put(FileMerge.usage + "\n", to: 1)
        exit(0)
    case "-p", "--stdout": break
    case "--ours": prefer = choose(.ours, over: prefer)
    case "--theirs": prefer = choose(.theirs, over: prefer)
    default:
        if argument.hasPrefix("-") && argument != "-" { fail("unknown option '\(argument)' (see --help)") }
        files.append(argument)
    }
}
guard files.count == 3 else { fail("give three files: OURS BASE THEIRS (see --help)") }
let result = FileMerge.merge(ours: readFile(files[0]), base: readFile(files[1]), theirs: readFile(files[2]),
                             oursLabel: files[0], theirsLabel: files[2], prefer: prefer)
put(result.text, to: 1)
exit(result.conflicted ? 1 : 0)

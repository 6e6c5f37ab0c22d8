// Support for the reliability tests: processes started without waiting (to kill them, or to run two at once), polling
// for a run's temporary file, a small tmpfs to fill, running as `nobody`, and the independent checkers the outputs are
// held against (coreutils `sha256sum -c`, `gzip -t`, numpy). Relies on Foundation (Process, FileManager) and Glibc.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A child started in the background; stdout and stderr go to files read after it ends.
final class Spawned {
    let process = Process()
    private let scratch: URL
    private let outHandle: FileHandle
    private let errHandle: FileHandle

    init(_ executable: String, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:])
        throws
    {
        _ = ignoreSIGPIPE
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("npyexp-spawn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: scratch.appendingPathComponent("out").path, contents: nil)
        _ = FileManager.default.createFile(atPath: scratch.appendingPathComponent("err").path, contents: nil)
        outHandle = try FileHandle(forWritingTo: scratch.appendingPathComponent("out"))
        errHandle = try FileHandle(forWritingTo: scratch.appendingPathComponent("err"))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits for the end; returns what `run` would.
    func wait() throws -> RunResult {
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        defer { try? FileManager.default.removeItem(at: scratch) }
        return RunResult(
            status: process.terminationStatus,
            stdout: try Data(contentsOf: scratch.appendingPathComponent("out")),
            stderr: String(decoding: try Data(contentsOf: scratch.appendingPathComponent("err")), as: UTF8.self),
            terminatedBySignal: process.terminationReason == .uncaughtSignal)
    }
}

/// Sizes of the unnamed temporaries (O_TMPFILE) that process `pid` holds open below `dir`: the kernel shows each
/// in /proc/PID/fd as `DIR/#INODE (deleted)`.
func unnamedTemporaries(of pid: Int32, below dir: URL) -> [Int] {
    let fds = "/proc/\(pid)/fd"
    let prefix = dir.resolvingSymlinksInPath().path + "/"
    return ((try? FileManager.default.contentsOfDirectory(atPath: fds)) ?? []).compactMap { fd -> Int? in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + fd),
            target.hasPrefix(prefix), target.hasSuffix(" (deleted)"), target.contains("/#")
        else { return nil }
        var st = stat()
        guard stat(fds + "/" + fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }
}

/// Names in `dir` (hidden ones included) that carry npyexp's temporary marker.
func temporaries(in dir: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.contains(".npyexp-tmp.") }
        .sorted()
}

/// Every name in `dir`, hidden ones included, sorted.
func allNames(in dir: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
}

/// Polls until `condition` holds or `timeout` seconds pass; returns whether it held.
func poll(timeout: Double, every interval: Double = 0.005, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(UInt32(interval * 1e6))
    }
    return condition()
}

/// Writes float32 N(0,1) values (numpy, fixed seed) as an .npy (or .npy.gz via Python's gzip) file.
func makeNormalInput(_ url: URL, elements: Int, seed: Int = 0, gzip: Bool = false) throws {
    try python(
        """
        import sys, gzip, io, numpy as np
        a = np.random.default_rng(int(sys.argv[2])).standard_normal(int(sys.argv[1]), dtype=np.float32)
        if sys.argv[4] == "1":
            buf = io.BytesIO(); np.save(buf, a)
            open(sys.argv[3], "wb").write(gzip.compress(buf.getvalue(), 1, mtime=0))
        else:
            np.save(sys.argv[3], a)
        """, [String(elements), String(seed), url.path, gzip ? "1" : "0"])
}

/// `root/in`, made with `count` small normal inputs `PREFIXi.npy` of `elements` each (seed i).
func makeInputDirectory(in root: URL, _ prefix: String, count: Int, elements: Int = 100) throws -> URL {
    let input = root.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
    for i in 0..<count { try makeNormalInput(input.appendingPathComponent("\(prefix)\(i).npy"), elements: elements, seed: i) }
    return input
}

/// `sha256sum -c` run in the sidecar's directory: true when coreutils agrees the file matches (false when there is
/// no sidecar).
func coreutilsChecksumOK(sidecar: URL) throws -> Bool {
    guard FileManager.default.fileExists(atPath: sidecar.path) else { return false }
    return try run("/usr/bin/env", ["sha256sum", "-c", "--status", sidecar.lastPathComponent],
            in: sidecar.deletingLastPathComponent()).status == 0
}

/// `gzip -t`: true when gzip(1) finds the file intact.
func gzipTestOK(_ url: URL) throws -> Bool {
    try run("/usr/bin/env", ["gzip", "-t", url.path]).status == 0
}

/// Sets a file's modification time `seconds` into the past.
func backdate(_ url: URL, seconds: Double) throws {
    try FileManager.default.setAttributes(
        [.modificationDate: Date().addingTimeInterval(-seconds)], ofItemAtPath: url.path)
}

/// A PID that belonged to a process that has ended (a `true` that was waited for).
func deadPID() throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/true")
    try p.run()
    p.waitUntilExit()
    return p.processIdentifier
}

enum Privileges {
    /// Whether this runner is root and can run a command as `nobody` (setpriv from util-linux). Root bypasses file
    /// permissions, so permission faults can only be shown as another user.
    static let canRunAsNobody: Bool = {
        guard getuid() == 0 else { return false }
        return (try? run("/usr/bin/env", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/true"]))?
            .status == 0
    }()

    /// Runs npyexp as uid/gid 65534.
    static func npyexpAsNobody(_ arguments: [String]) throws -> RunResult {
        try run("/usr/bin/env",
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Paths.binary] + arguments)
    }
}

/// A tmpfs of `size` mounted at `dir` (root and CAP_SYS_ADMIN needed); nil when mounting is not possible here.
func mountSmallTmpfs(at dir: URL, size: String) -> Bool {
    guard getuid() == 0 else { return false }
    return (try? run("/usr/bin/env", ["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", dir.path]))?.status == 0
}

func unmount(_ dir: URL) {
    _ = try? run("/usr/bin/env", ["umount", dir.path])
}

/// The fixtures/bad table: file name -> the phrase its error line must contain.
func badFixtureTable() throws -> [(name: String, phrase: String)] {
    try phraseTable("bad/expected.tsv").map { ($0.name, $0.phrases[0]) }
}

/// A fixtures table (path relative to fixtures/): a file name, then the phrases (tab separated) its error line must
/// contain; `#` lines are comments.
func phraseTable(_ relativePath: String) throws -> [(name: String, phrases: [String])] {
    let text = try String(contentsOf: Paths.fixtures.appendingPathComponent(relativePath), encoding: .utf8)
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
        let parts = line.split(separator: "\t").map(String.init)
        return (parts[0], Array(parts.dropFirst()))
    }
}

/// The `-v` lines of a run: inputs done (`IN -> OUT: ...`) and skipped.
func doneAndSkipped(_ stderr: String) -> (done: [String], skipped: [String]) {
    let lines = stderr.split(separator: "\n").map(String.init)
    return (lines.filter { $0.contains(" -> ") }, lines.filter { $0.hasSuffix(" is complete") })
}

/// npyexp with `arguments`, under strace with `options` (fault injection); nil where strace is missing.
func npyexpUnderStrace(_ options: [String], _ arguments: [String]) throws -> RunResult? {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
        print("skipped: needs strace (.ci/run installs it)")
        return nil
    }
    return try run("/usr/bin/strace", ["-f", "-o", "/dev/null"] + options + [Paths.binary] + arguments)
}

/// `out` holds `count` outputs, each with its sidecar that verifies with coreutils, and nothing else.
func expectWholeOutputs(in out: URL, count: Int) throws {
    let names = Set(allNames(in: out))
    let sidecars = names.filter { $0.hasSuffix(".sha256") }
    #expect(sidecars.count == count && names.count == 2 * count, "\(names)")
    for name in sidecars {
        let output = String(name.dropLast(".sha256".count))
        #expect(names.contains(output), "\(name) without its output")
        // Only regular files are hashed: sha256sum would wait on a FIFO, or read a device forever.
        var st = stat()
        let regular = [name, output].allSatisfy {
            lstat(out.appendingPathComponent($0).path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        }
        #expect(regular, "\(name) or its output is not a regular file")
        if regular { #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent(name)), "\(name)") }
    }
}

// Unit tests of the temporaries behind every output, in-process: on this machine's file systems (ext4, tmpfs) they are
// unnamed (O_TMPFILE), so no name appears in the output's directory until the file is linked into place; linked over a
// name that is taken, the file replaces it atomically, as rename(2) would, and leaves no temporary name; and a bad
// NPYEXP_TEMPORARIES is one usage error. Where O_TMPFILE is refused, or /proc is missing, runs fall back to named
// temporaries by themselves (and, without /proc, still read their command line). The named fallback meets every fault
// in the fault matrix and the signal tests (forced there by NPYEXP_TEMPORARIES=named). Relies on `@testable import
// NPYExp` and Foundation.
import Foundation
import Testing

@testable import NPYExp

#if canImport(Glibc)
import Glibc
#endif

@Suite struct TemporaryFileTests {
    /// Inode number of `path`, or nil when nothing is there.
    func inode(_ path: String) -> UInt? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt(st.st_ino) : nil
    }

    @Test func anUnnamedTemporaryHasNoNameUntilPlacedAndThenHoldsEveryByte() throws {
        let dir = try scratchDirectory("unnamed")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(TemporaryFiles.makesUnnamed, "this machine has /proc/self/fd and O_TMPFILE on ext4 and tmpfs")
        let final = dir.appendingPathComponent("x.npy").path
        let file = try TemporaryFile(finalPath: final)
        #expect(file.path == nil)
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try bytes.withUnsafeBytes { try file.write($0) }
        #expect(allNames(in: dir).isEmpty, "a name appeared before the file was placed: \(allNames(in: dir))")
        try file.place()
        file.close()
        #expect(allNames(in: dir) == ["x.npy"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: final)) == Data(bytes))
    }

    @Test func placedOverATakenNameTheFileReplacesItAndLeavesNoTemporary() throws {
        let dir = try scratchDirectory("unnamed-over")
        defer { try? FileManager.default.removeItem(at: dir) }
        let final = dir.appendingPathComponent("x.npy")
        try Data("old output".utf8).write(to: final)
        let old = inode(final.path)
        let file = try TemporaryFile(finalPath: final.path)
        try file.write(text: "new output")
        try file.place()
        file.close()
        #expect(try String(contentsOf: final, encoding: .utf8) == "new output")
        #expect(inode(final.path) != old)
        #expect(allNames(in: dir) == ["x.npy"], "\(allNames(in: dir))")
    }

    @Test func aDiscardedUnnamedTemporaryLeavesTheFinalPathAsItWas() throws {
        let dir = try scratchDirectory("unnamed-discard")
        defer { try? FileManager.default.removeItem(at: dir) }
        let final = dir.appendingPathComponent("x.npy")
        try Data("kept".utf8).write(to: final)
        let file = try TemporaryFile(finalPath: final.path)
        try file.write(text: "never placed")
        file.discard()
        #expect(try String(contentsOf: final, encoding: .utf8) == "kept")
        #expect(allNames(in: dir) == ["x.npy"])
    }

    /// Where O_TMPFILE is refused (NFS, vfat...: here strace makes the kernel refuse it), the run falls back to
    /// named temporaries by itself, and every output still lands whole with its sidecar and nothing else.
    @Test func withoutOTmpfileTheRunFallsBackToNamedTemporaries() throws {
        let dir = try scratchDirectory("no-tmpfile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let input = dir.appendingPathComponent("x.npy")
        try makeNormalInput(input, elements: 3 << 20)  // 12 MiB: the streamed path, with its single commit
        // Every open of `out` itself fails with EOPNOTSUPP, as O_TMPFILE does there, except the last one (the
        // directory's fsync): the sweep's opendir, then the output's and the sidecar's O_TMPFILE.
        let options = ["-P", out.path, "-e", "trace=openat", "-e", "inject=openat:error=EOPNOTSUPP:when=1..3"]
        guard let r = try npyexpUnderStrace(options, ["-o", out.path, input.path]) else { return }
        #expect(r.status == 0, "\(r.stderr)")
        try expectWholeOutputs(in: out, count: 1)
    }

    /// Where unnamed files can be made but not linked (a sandbox whose /proc refuses it: here strace fails the first
    /// linkat, the one that tries the file system), no output is written unnamed: a batch falls back to named
    /// temporaries and every output lands with its sidecar.
    @Test func whenLinkingIsRefusedTheRunFallsBackToNamedTemporaries() throws {
        let dir = try scratchDirectory("no-link")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in")
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for i in 0..<6 { try makeNormalInput(input.appendingPathComponent("s\(i).npy"), elements: 300, seed: i) }
        try makeNormalInput(input.appendingPathComponent("large.npy"), elements: 3 << 20)
        let options = ["-e", "trace=linkat", "-e", "inject=linkat:error=EPERM:when=1"]
        guard let r = try npyexpUnderStrace(options, ["-o", out.path, input.path]) else { return }
        #expect(r.status == 0, "\(r.stderr)")
        try expectWholeOutputs(in: out, count: 7)
    }

    /// Without /proc (a chroot, a bare container) there is nothing to link unnamed files by, so temporaries are named;
    /// and the command line must still be read (Swift's `CommandLine` reads it from /proc on Linux and, before
    /// CSystem captured argv, saw no arguments: the run read standard input instead).
    @Test func withoutProcTheRunSeesItsArgumentsAndUsesNamedTemporaries() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            print("skipped: needs root and unshare(1) for a mount namespace without /proc")
            return
        }
        let dir = try scratchDirectory("no-proc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let input = dir.appendingPathComponent("x.npy")
        try makeNormalInput(input, elements: 3 << 20)
        let script = "umount -l /proc && ! test -e /proc/self && exec '\(Paths.binary)' -o '\(out.path)' '\(input.path)'"
        let r = try run("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script])
        #expect(r.status == 0, "\(r.stderr)")
        try expectWholeOutputs(in: out, count: 1)
    }

    @Test func anUnknownKindOfTemporaryIsOneUsageError() throws {
        let good = Paths.fixtures.appendingPathComponent("bad/good.npy").path
        let r = try run(Paths.binary, ["-c", good], environment: ["NPYEXP_TEMPORARIES": "tmpfs"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("NPYEXP_TEMPORARIES=tmpfs is not a kind"), "\(r.stderr)")
    }
}

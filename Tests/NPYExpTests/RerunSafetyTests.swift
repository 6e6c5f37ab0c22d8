// The safety promise where runs meet earlier outputs, each other, and odd names: a rerun that fails to put a pair in
// place leaves the earlier pair as it was (on every path that writes files, both kinds of temporaries, large inputs
// beside small ones); two runs writing the same outputs at once always leave matching pairs; a directory someone else
// keeps locked delays a run, never hangs it; a low descriptor limit or a slow syncfs fails no input; an input named
// like a temporary is never removed and no output is given such a name; a FIFO or a device link where an output or
// sidecar should be is never read as one; a run that only skips still removes what killed runs left. Expected
// outcomes come from coreutils (`sha256sum -c`) and byte comparisons with the first run's files. Relies on the real
// binary, numpy (inputs), coreutils, flock(1), chattr and strace where present.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How a rerun's input is processed when its sidecar cannot be put in place.
enum RerunPath: String, CaseIterable, CustomTestStringConvertible {
    /// Small inputs in a batch (group commit).
    case smallInBatch
    /// Inputs of several chunks in a batch (overlapped reader, group commit).
    case largeInBatch
    /// One large input alone (fsync + rename commit).
    case singleLarge
    /// A backward pair of large inputs.
    case backward
    /// An .npz archive beside small inputs (group commit).
    case archiveInBatch

    var testDescription: String { rawValue }
}

/// What stands in the way of the rerun's sidecar.
enum SidecarBlock: String, CaseIterable, CustomTestStringConvertible {
    /// The earlier sidecar is immutable (chattr +i): replacing it fails with EPERM.
    case immutableSidecar
    /// A non-empty directory where the sidecar goes: renaming over it fails.
    case directoryInTheWay

    var testDescription: String { rawValue }
}

struct RerunCell: CustomTestStringConvertible, Sendable {
    var path: RerunPath
    var block: SidecarBlock
    var named: Bool
    var testDescription: String { "\(path) x \(block)" + (named ? " x named" : "") }

    static var all: [RerunCell] {
        RerunPath.allCases.flatMap { path in
            SidecarBlock.allCases.flatMap { block in [false, true].map { RerunCell(path: path, block: block, named: $0) } }
        }
    }
}

@Suite(.serialized) struct RerunSafetyTests {
    /// The files of `dir` (not below), by name, with their bytes.
    func contents(of dir: URL) throws -> [String: Data] {
        var all: [String: Data] = [:]
        for name in allNames(in: dir) {
            var isDir: ObjCBool = false
            let url = dir.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue {
                all[name] = try Data(contentsOf: url)
            }
        }
        return all
    }

    @discardableResult
    func sh(_ script: String, in dir: URL? = nil) throws -> RunResult { try run("/bin/sh", ["-c", script], in: dir) }

    /// A rerun (-f) whose new sidecar cannot be put in place fails that input with one line, and the earlier output
    /// is back where it was, byte for byte (with an immutable sidecar, the earlier pair still verifies); every other
    /// input of the batch is replaced and verifies; no temporary is left.
    @Test(arguments: RerunCell.all)
    func aFailedRerunKeepsTheEarlierPair(_ cell: RerunCell) throws {
        let root = try scratchDirectory("rerun")
        let input = root.appendingPathComponent("in")
        let out = root.appendingPathComponent("out")
        var immutable: URL?
        defer {
            if let immutable { _ = try? sh("chattr -i '\(immutable.path)'") }
            try? FileManager.default.removeItem(at: root)
        }
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let large = cell.path != .smallInBatch
        var arguments: [String]
        switch cell.path {
        case .archiveInBatch:
            try python(
                """
                import sys, numpy as np
                rng = np.random.default_rng(5)
                np.savez_compressed(sys.argv[1], a=rng.standard_normal(int(sys.argv[2]), dtype=np.float32))
                """, [input.appendingPathComponent("bad.npz").path, String(matrixElements)])
            arguments = ["-o", out.path, input.path]
        case .backward:
            try makeNormalInput(input.appendingPathComponent("bad.npy"), elements: matrixElements, seed: 1)
            try makeNormalInput(input.appendingPathComponent("grad.npy"), elements: matrixElements, seed: 2)
            arguments = ["backward", "-o", out.path, input.appendingPathComponent("bad.npy").path,
                         input.appendingPathComponent("grad.npy").path]
        case .singleLarge:
            try makeNormalInput(input.appendingPathComponent("bad.npy"), elements: matrixElements, seed: 1)
            arguments = ["-o", out.path, input.appendingPathComponent("bad.npy").path]
        case .smallInBatch, .largeInBatch:
            try makeNormalInput(input.appendingPathComponent("bad.npy"), elements: large ? matrixElements : 300, seed: 1)
            arguments = ["-o", out.path, input.path]
        }
        let batch = cell.path == .smallInBatch || cell.path == .largeInBatch || cell.path == .archiveInBatch
        if batch {
            for i in 0..<3 {
                try makeNormalInput(
                    input.appendingPathComponent("good\(i).npy"), elements: i == 0 && large ? matrixElements : 300,
                    seed: 10 + i)
            }
        }
        let environment = cell.named ? ["NPYEXP_TEMPORARIES": "named"] : [:]
        let first = try run(Paths.binary, arguments, environment: environment)
        #expect(first.status == 0, "\(cell): first run: \(first.stderr)")
        let before = try contents(of: out)
        // Backward names its output after the gradient.
        let target = cell.path == .backward ? "grad" : "bad"
        guard let output = before.keys.sorted().first(where: { $0.hasPrefix(target) && !$0.hasSuffix(".sha256") })
        else {
            Issue.record("\(cell): no output of \(target) in \(before.keys.sorted())")
            return
        }
        let sidecar = out.appendingPathComponent(output + ".sha256")
        switch cell.block {
        case .immutableSidecar:
            guard try sh("chattr +i '\(sidecar.path)'").status == 0 else {
                print("skipped \(cell): chattr +i is refused here (needs root and ext4, xfs or btrfs)")
                return
            }
            immutable = sidecar
        case .directoryInTheWay:
            try FileManager.default.removeItem(at: sidecar)
            try FileManager.default.createDirectory(
                at: sidecar.appendingPathComponent("x"), withIntermediateDirectories: true)
        }
        // Inputs changed since: the rerun's outputs differ from the first run's.
        for name in allNames(in: input) where name.hasPrefix("good") {
            try makeNormalInput(input.appendingPathComponent(name), elements: 300, seed: 50 + name.count)
        }
        let force = cell.path == .backward ? ["backward", "-f"] + arguments.dropFirst() : ["-f"] + arguments
        let rerun = try run(Paths.binary, force, environment: environment)
        #expect(rerun.status == 74, "\(cell): rerun status \(rerun.status): \(rerun.stderr)")
        let lines = rerun.stderr.split(separator: "\n").filter { !$0.contains("warning") }
        #expect(lines.count == 1 && lines[0].contains("cannot move into place"), "\(cell): \(rerun.stderr)")
        let after = try contents(of: out)
        #expect(after[output] == before[output], "\(cell): the earlier output \(output) was not kept")
        if cell.block == .immutableSidecar {
            #expect(try coreutilsChecksumOK(sidecar: sidecar), "\(cell): the earlier pair no longer verifies")
        }
        for name in after.keys where name.hasPrefix("good") && name.hasSuffix(".sha256") {
            #expect(after[name] != before[name], "\(cell): \(name) was not replaced")
            #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent(name)), "\(cell): \(name)")
        }
        let left = try temporariesBelow(root)
        #expect(left.isEmpty, "\(cell): temporaries: \(left)")
    }

    /// Where the earlier output cannot be hard-linked aside (every link(2) fails: a file system without hard links,
    /// a full directory), it is renamed aside instead, and put back when the new sidecar then fails (strace makes the
    /// sidecar's rename fail: the second rename with unnamed temporaries, the third with named ones).
    @Test(arguments: [(false, 2), (true, 3)])
    func withoutHardLinksTheEarlierOutputIsMovedAsideAndPutBack(named: Bool, sidecarRename: Int) throws {
        let root = try scratchDirectory("nolink")
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("x.npy")
        try makeNormalInput(input, elements: matrixElements, seed: 1)
        let out = root.appendingPathComponent("out")
        let environment = named ? ["NPYEXP_TEMPORARIES": "named"] : [:]
        #expect(try run(Paths.binary, ["-o", out.path, input.path], environment: environment).status == 0)
        let before = try contents(of: out)
        try makeNormalInput(input, elements: matrixElements, seed: 2)
        let prefix = named ? "export NPYEXP_TEMPORARIES=named; " : ""
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
            print("skipped: needs strace (.ci/run installs it)")
            return
        }
        let r = try sh(
            prefix + "exec strace -f -o /dev/null -e trace=link,rename -e inject=link:error=ENOSPC "
                + "-e inject=rename:error=ENOSPC:when=\(sidecarRename) '\(Paths.binary)' -f -o '\(out.path)' '\(input.path)'")
        #expect(r.status == 74 && r.stderr.contains("x.npy.sha256: cannot move into place"), "\(r.stderr)")
        #expect(try contents(of: out) == before, "the earlier pair was not put back: \(allNames(in: out))")
        #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent("x.npy.sha256")))
    }

    /// Two runs with different inputs that map to the same outputs, at once and again and again (-f): whichever
    /// wins an output, its sidecar is its own. (Before pairs were placed under the directory's lock, 28 of 30 such
    /// rounds ended with some output beside the other run's sidecar, and both runs exited 0.)
    @Test(arguments: [false, true])
    func concurrentRunsWritingTheSameOutputsLeaveMatchingPairs(named: Bool) throws {
        let root = try scratchDirectory("race")
        defer { try? FileManager.default.removeItem(at: root) }
        try python(
            """
            import sys, os, numpy as np
            for side, sign in (("a", 1), ("b", -1)):
                os.makedirs(os.path.join(sys.argv[1], side))
                for i in range(200):
                    np.save(os.path.join(sys.argv[1], side, f"m{i:03d}.npy"), sign * (np.arange(8, dtype=np.float32) + i))
            """, [root.path])
        let environment = named ? ["NPYEXP_TEMPORARIES": "named"] : [:]
        let out = root.appendingPathComponent("out").path
        for round in 0..<12 {
            let a = try Spawned(Paths.binary, ["-f", "-o", out, root.appendingPathComponent("a").path], environment: environment)
            let b = try Spawned(Paths.binary, ["-f", "-o", out, root.appendingPathComponent("b").path], environment: environment)
            let (ra, rb) = (try a.wait(), try b.wait())
            #expect(ra.status == 0 && rb.status == 0, "round \(round): \(ra.stderr) \(rb.stderr)")
            let check = try run("/bin/sh", ["-c", "cd '\(out)' && sha256sum -c --quiet -- *.sha256"])
            #expect(check.status == 0, "round \(round): pairs that do not match: \(String(decoding: check.stdout, as: UTF8.self))")
            if check.status != 0 { break }
        }
        #expect(try temporariesBelow(root).isEmpty)
    }

    /// Someone else holding the output directory's flock for the whole run (`flock OUT npyexp -o OUT IN`, on another
    /// open file) delays the pairs' placement by the lock's patience once, then they are placed unlocked: the run ends
    /// and every output lands (before the patience existed, this run waited forever).
    @Test func aDirectoryLockedElsewhereNeverHangsTheRun() throws {
        let root = try scratchDirectory("dirlock")
        defer { try? FileManager.default.removeItem(at: root) }
        let input = try makeInputDirectory(in: root, "d", count: 5)
        let out = root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let r = try sh("exec timeout 120 flock '\(out.path)' '\(Paths.binary)' -o '\(out.path)' '\(input.path)'")
        #expect(r.status == 0, "status \(r.status) (124: it hung): \(r.stderr)")
        try expectWholeOutputs(in: out, count: 5)
    }

    /// npyexp's own descriptors never fail an input: with `ulimit -n 24` (batches of one), and with 256 while every
    /// syncfs takes 100 ms (strace delays it: the other job keeps staging meanwhile), every output lands whole.
    @Test(arguments: ["ulimit-24", "slow-syncfs"])
    func aLowDescriptorLimitFailsNothing(_ mode: String) throws {
        let root = try scratchDirectory("fds")
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("in")
        try python(
            """
            import sys, os, numpy as np
            os.makedirs(sys.argv[1])
            for i in range(int(sys.argv[2])):
                np.save(os.path.join(sys.argv[1], f"m{i:04d}.npy"), np.arange(8, dtype=np.float32) + i)
            """, [input.path, mode == "slow-syncfs" ? "700" : "300"])
        try makeNormalInput(input.appendingPathComponent("large.npy"), elements: matrixElements, seed: 4)
        let out = root.appendingPathComponent("out")
        let count = allNames(in: input).count
        let result: RunResult
        if mode == "ulimit-24" {
            result = try sh("ulimit -n 24; exec '\(Paths.binary)' -o '\(out.path)' '\(input.path)'")
        } else {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
                print("skipped: needs strace (.ci/run installs it)")
                return
            }
            result = try sh(
                "ulimit -n 256; exec strace -f -o /dev/null -e trace=none -e inject=syncfs:delay_exit=100000 "
                    + "'\(Paths.binary)' -o '\(out.path)' '\(input.path)'")
        }
        #expect(result.status == 0, "\(mode): \(result.stderr.prefix(2000))")
        try expectWholeOutputs(in: out, count: count)
    }

    /// An input whose name has the temporary form is an input like any other: the sweep of killed runs' leftovers in
    /// its directory (made by another input's output there, before this one is opened) leaves it alone.
    @Test func anInputNamedLikeATemporaryIsNeverRemoved() throws {
        let root = try scratchDirectory("tmpname")
        defer { try? FileManager.default.removeItem(at: root) }
        let a = root.appendingPathComponent("a.npy")
        let odd = root.appendingPathComponent(".npyexp-tmp.\(try deadPID()).ff")
        try makeNormalInput(a, elements: 100, seed: 1)
        try makeNormalInput(root.appendingPathComponent("b.npy"), elements: 100, seed: 2)  // np.save adds .npy
        try FileManager.default.moveItem(at: root.appendingPathComponent("b.npy"), to: odd)
        let bytes = try Data(contentsOf: odd)
        let r = try npyexp(["--jobs", "1", a.path, odd.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Data(contentsOf: odd) == bytes)
        #expect(try coreutilsChecksumOK(sidecar: root.appendingPathComponent(odd.lastPathComponent + ".exp.npy.sha256")))
    }

    /// An output that would have the temporary form (a later run would remove it) is refused for that input alone,
    /// with one line, before anything is written.
    @Test func anOutputNamedLikeATemporaryIsRefused() throws {
        let root = try scratchDirectory("tmpout")
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("x.npy")
        try makeNormalInput(source, elements: 100)
        let out = root.appendingPathComponent("out")
        let r = try npyexp(["--stdin-name", ".npyexp-tmp.1.a", "-o", out.path, "-"], input: try Data(contentsOf: source))
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.contains("output name .npyexp-tmp.1.a has the form of npyexp's temporary files"), "\(r.stderr)")
        #expect(allNames(in: out).isEmpty)
    }

    /// An output name whose sidecar would pass NAME_MAX fails alone, with one line, before its input is computed;
    /// the other input of the batch is done.
    @Test func anOverlongOutputNameFailsAlone() throws {
        let root = try scratchDirectory("longname")
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let long = String(repeating: "n", count: 250) + ".npy"  // 254 bytes: fits, but not with .sha256
        try makeNormalInput(input.appendingPathComponent(long), elements: 100)
        try makeNormalInput(input.appendingPathComponent("ok.npy"), elements: 100)
        let out = root.appendingPathComponent("out")
        let r = try npyexp(["-v", "-o", out.path, input.path])
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.contains("output name too long: 261 bytes with .sha256, the limit is 255"), "\(r.stderr)")
        #expect(doneAndSkipped(r.stderr).done.count == 1, "\(r.stderr)")
        try expectWholeOutputs(in: out, count: 1)
    }

    /// A FIFO or a link to /dev/zero where an output or its sidecar stands is never read as one by the check that
    /// skips complete outputs (it would wait, or hash forever): the rerun redoes those inputs and ends.
    @Test func specialFilesWhereOutputsStandAreNeverReadAsOutputs() throws {
        let root = try scratchDirectory("special")
        defer { try? FileManager.default.removeItem(at: root) }
        let input = try makeInputDirectory(in: root, "s", count: 4)
        let out = root.appendingPathComponent("out")
        #expect(try npyexp(["-o", out.path, input.path]).status == 0)
        let o = out.path
        try sh(
            "rm '\(o)/s0.npy' && mkfifo '\(o)/s0.npy' && rm '\(o)/s1.npy' && ln -s /dev/zero '\(o)/s1.npy'"
                + " && rm '\(o)/s2.npy.sha256' && mkfifo '\(o)/s2.npy.sha256'")
        let r = try sh("exec timeout 60 '\(Paths.binary)' -v -o '\(o)' '\(input.path)'")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(doneAndSkipped(r.stderr).done.count == 3 && doneAndSkipped(r.stderr).skipped.count == 1, "\(r.stderr)")
        try expectWholeOutputs(in: out, count: 4)
    }

    /// A leftover of a killed run beside complete outputs is removed by the next run even when that run only skips.
    @Test func aRunThatOnlySkipsStillRemovesLeftovers() throws {
        let root = try scratchDirectory("skipsweep")
        defer { try? FileManager.default.removeItem(at: root) }
        let input = try makeInputDirectory(in: root, "k", count: 3)
        let out = root.appendingPathComponent("out")
        #expect(try npyexp(["-o", out.path, input.path]).status == 0)
        let leftover = out.appendingPathComponent(".npyexp-tmp.\(try deadPID()).abc")
        try Data("half an output".utf8).write(to: leftover)
        let r = try npyexp(["-v", "-o", out.path, input.path])
        #expect(r.status == 0 && doneAndSkipped(r.stderr).skipped.count == 3, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        try expectWholeOutputs(in: out, count: 3)
    }
}

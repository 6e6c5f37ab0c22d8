// Reliability (issue: errors, atomic / interrupt-safe / overlap-safe runs, verify): every test runs the built binary as
// a subprocess on scratch files and checks what a user would see: the error lines, the exit status, which files exist
// afterwards (hidden temporaries included), and whether independent tools (coreutils sha256sum -c, gzip -t, numpy)
// accept the outputs. Relies on Support.swift and ReliabilitySupport.swift.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ReliabilityTests {
    // MARK: errors and exit statuses

    @Test func eachBadInputClassFailsAloneWithItsOwnLine() throws {
        let table = try badFixtureTable()
        let dir = try scratchDirectory("badclasses")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        for name in table.map(\.name) + ["good.npy"] {
            try FileManager.default.copyItem(
                at: Paths.fixtures.appendingPathComponent("bad/\(name)"), to: inputs.appendingPathComponent(name))
        }
        // Faults inside npyexp's own block-framed gzip (read by the parallel reader): made from a real output.
        let made = dir.appendingPathComponent("made")
        #expect(try npyexp(["--gzip", "-o", made.path, inputs.appendingPathComponent("good.npy").path]).status == 0)
        let block = try bytes(made.appendingPathComponent("good.npy.gz"))
        var crc = block
        crc[crc.count - 8] ^= 0xff
        try crc.write(to: inputs.appendingPathComponent("block_crc.npy.gz"))
        try block.dropLast(5).write(to: inputs.appendingPathComponent("block_truncated.npy.gz"))
        let expectations = table + [("block_crc.npy.gz", "gzip CRC32 mismatch"),
                                    ("block_truncated.npy.gz", "truncated gzip stream")]
        let before = try listFiles(inputs).map { try bytes(inputs.appendingPathComponent($0)) }

        let out = dir.appendingPathComponent("out")
        let r = try npyexp(["-o", out.path, inputs.path])
        #expect(r.status == 1, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
        #expect(lines.count == expectations.count, "one line per bad input: \(lines)")
        for (name, phrase) in expectations {
            let prefix = "npyexp: \(inputs.path)/\(name): "
            let mine = lines.filter { $0.hasPrefix(prefix) }
            #expect(mine.count == 1, "\(name): \(mine)")
            #expect(mine.first?.contains(phrase) == true, "\(name) should say '\(phrase)': \(mine)")
        }
        // The two malformed headers name the token and the key that are wrong.
        #expect(lines.contains { $0.contains("malformed_header.npy: ") && $0.contains("'Maybe'") })
        #expect(lines.contains { $0.contains("missing_key.npy: ") && $0.contains("'fortran_order'") })
        // Only the good input has an output, its checksum verifies with coreutils, and no temporary is left.
        #expect(allNames(in: out) == ["good.npy", "good.npy.sha256"])
        #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent("good.npy.sha256")))
        // Inputs are never modified.
        #expect(try listFiles(inputs).map { try bytes(inputs.appendingPathComponent($0)) } == before)
    }

    @Test func failFastStopsAtTheFirstFailure() throws {
        let dir = try scratchDirectory("failfast")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let good = Paths.fixtures.appendingPathComponent("bad/good.npy")
        try FileManager.default.copyItem(
            at: Paths.fixtures.appendingPathComponent("bad/bad_magic.npy"), to: inputs.appendingPathComponent("a.npy"))
        try FileManager.default.copyItem(at: good, to: inputs.appendingPathComponent("b.npy"))
        try FileManager.default.copyItem(at: good, to: inputs.appendingPathComponent("c.npy"))
        // One input at a time, in sorted order: a.npy fails first.
        let stopped = try npyexp(["-j", "1", "--fail-fast", "-o", dir.appendingPathComponent("o1").path, inputs.path])
        #expect(stopped.status == 1)
        #expect(stopped.stderr.split(separator: "\n").count == 1)
        #expect(allNames(in: dir.appendingPathComponent("o1")).isEmpty, "nothing after the failure was started")
        // Without it the run goes on past the bad input and still exits 1.
        let goesOn = try npyexp(["-j", "1", "-o", dir.appendingPathComponent("o2").path, inputs.path])
        #expect(goesOn.status == 1)
        #expect(allNames(in: dir.appendingPathComponent("o2")) == ["b.npy", "b.npy.sha256", "c.npy", "c.npy.sha256"])
    }

    @Test func exitStatusesForUsageAndNoInput() throws {
        let good = Paths.fixtures.appendingPathComponent("bad/good.npy").path
        #expect(try npyexp(["--level", "12", good]).status == 64)
        #expect(try npyexp(["--no-such-option", good]).status == 64)
        #expect(try npyexp(["/nonexistent/x.npy"]).status == 66)
        #expect(try npyexp(["verify", "/nonexistent/x.npy"]).status == 66)
    }

    // MARK: signals and leftovers

    /// Both kinds of temporary: unnamed (O_TMPFILE, the default where the file system has it) and named (forced).
    @Test(arguments: ["unnamed", "named"])
    func signalsRemoveTemporariesAndSigkillLeftoversAreSweptByTheNextRun(kind: String) throws {
        let dir = try scratchDirectory("signals-\(kind)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("big.npy")
        try makeNormalInput(input, elements: 50_000_000)  // 200 MB: level 9 keeps the write going for seconds
        let out = dir.appendingPathComponent("out")
        let arguments = ["--gzip", "-l", "9", "--strategy", "default", "-o", out.path, input.path]
        /// Starts a run and returns once its temporary file holds data, i.e. in the middle of the write.
        func startAndWaitForData() throws -> Spawned {
            let p = try Spawned(Paths.binary, arguments, environment: ["NPYEXP_TEMPORARIES": kind])
            let writing = poll(timeout: 60) {
                if kind == "unnamed" { return unnamedTemporaries(of: p.pid, below: out).contains { $0 > 0 } }
                return temporaries(in: out).contains { name in
                    let size = (try? FileManager.default.attributesOfItem(
                        atPath: out.appendingPathComponent(name).path)[.size] as? Int) ?? 0
                    return size > 0
                }
            }
            #expect(writing, "no temporary file with data appeared")
            return p
        }
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            let p = try startAndWaitForData()
            kill(p.pid, sig)
            let r = try p.wait()
            #expect(!r.terminatedBySignal && r.status == 128 + sig, "signal \(sig): \(r.status) \(r.stderr)")
            #expect(allNames(in: out).isEmpty, "signal \(sig) left \(allNames(in: out))")
        }
        // SIGKILL cannot be caught: an unnamed temporary goes with the process; a named one stays, but nothing ever
        // appears under the output's name.
        let p = try startAndWaitForData()
        kill(p.pid, SIGKILL)
        let killed = try p.wait()
        #expect(killed.terminatedBySignal)
        if kind == "unnamed" {
            #expect(allNames(in: out).isEmpty, "SIGKILL left \(allNames(in: out))")
            return
        }
        let leftover = temporaries(in: out)
        #expect(leftover.count == 1)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("big.npy.gz").path))

        // The next run writing in `out`, right away, removes leftovers whose writer is gone (their lock can be
        // taken), and nothing else: a temporary whose writer holds its lock stays, whatever its PID or age.
        let dead = try deadPID()
        let me = getpid()
        let decoys: [(name: String, age: Double, locked: Bool, removed: Bool)] = [
            (leftover[0], 0, false, true),  // the killed run's, right after the kill
            (".x.npy.npyexp-tmp.\(dead).ab12", 0, false, true),  // no writer holds it
            (".npyexp-tmp.\(me).cd34", 2 * 86_400, true, false),  // a live writer holds its lock
            (".w.npy.npyexp-tmp.\(me).ef56", 2 * 86_400, false, true),  // unlocked, whatever the PID
            (".z.npy.npyexp-tmp.notapid.ab", 2 * 86_400, false, false),  // not a name npyexp makes
            ("v.npy.npyexp-tmp.\(dead).ab", 2 * 86_400, false, false),  // not hidden: not npyexp's either
            (".u.npy.npyexp-tmp.\(dead).xyz", 2 * 86_400, false, false),  // RANDOM is not hex
        ]
        for d in decoys where d.name != leftover[0] {
            try Data("x".utf8).write(to: out.appendingPathComponent(d.name))
        }
        for d in decoys { try backdate(out.appendingPathComponent(d.name), seconds: d.age) }
        var held: [Int32] = []
        for d in decoys where d.locked {
            let fd = open(out.appendingPathComponent(d.name).path, O_RDONLY)
            #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            held.append(fd)
        }
        defer { held.forEach { close($0) } }
        let small = try npyexp(["-o", out.path, Paths.fixtures.appendingPathComponent("bad/good.npy").path])
        #expect(small.status == 0, "\(small.stderr)")
        let names = Set(allNames(in: out))
        for d in decoys {
            #expect(names.contains(d.name) == !d.removed, "\(d.name) should be \(d.removed ? "removed" : "kept")")
        }
        #expect(names.contains("good.npy") && names.contains("good.npy.sha256"))
    }

    // MARK: full disk, permissions

    @Test func fullDiskFailsThatOutputOnlyAndLeavesNothingPartial() throws {
        let dir = try scratchDirectory("full")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try makeNormalInput(inputs.appendingPathComponent("a_big.npy"), elements: 600_000)  // 2.4 MB output
        try FileManager.default.copyItem(
            at: Paths.fixtures.appendingPathComponent("bad/good.npy"), to: inputs.appendingPathComponent("b_small.npy"))
        let arguments = ["-j", "1", "-o", out.path, inputs.path]
        let r: RunResult
        let phrase: String
        if mountSmallTmpfs(at: out, size: "1m") {
            defer { unmount(out) }
            r = try npyexp(arguments)
            phrase = "no space left on device"
            #expect(allNames(in: out) == ["b_small.npy", "b_small.npy.sha256"])
            #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent("b_small.npy.sha256")))
        } else {
            // No mount here: a 1 MiB file size limit, with SIGXFSZ ignored so that write(2) fails with EFBIG.
            r = try run("/bin/bash", ["-c", "trap '' XFSZ; ulimit -f 1024; exec \"$0\" \"$@\"", Paths.binary] + arguments)
            phrase = "file too large"
            #expect(allNames(in: out) == ["b_small.npy", "b_small.npy.sha256"])
        }
        #expect(r.status == 74, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 1 && lines[0].hasPrefix("npyexp: \(out.path)/a_big.npy: ") && lines[0].contains(phrase),
                "\(lines)")
    }

    @Test(.enabled(if: Privileges.canRunAsNobody, "needs root and setpriv to run as nobody"))
    func permissionFaultsAreNamed() throws {
        let dir = try scratchDirectory("perm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        let readOnly = dir.appendingPathComponent("ro")
        let writable = dir.appendingPathComponent("rw")
        for d in [inputs, readOnly, writable] {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        }
        let good = Paths.fixtures.appendingPathComponent("bad/good.npy")
        try FileManager.default.copyItem(at: good, to: inputs.appendingPathComponent("a_locked.npy"))
        try FileManager.default.copyItem(at: good, to: inputs.appendingPathComponent("b_open.npy"))
        let fm = FileManager.default
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: inputs.path)
        try fm.setAttributes([.posixPermissions: 0o000], ofItemAtPath: inputs.appendingPathComponent("a_locked.npy").path)
        try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: inputs.appendingPathComponent("b_open.npy").path)
        try fm.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnly.path)
        try fm.setAttributes([.posixPermissions: 0o777], ofItemAtPath: writable.path)

        let r1 = try Privileges.npyexpAsNobody(["-o", readOnly.path, inputs.appendingPathComponent("b_open.npy").path])
        #expect(r1.status == 74, "\(r1.stderr)")
        #expect(r1.stderr == "npyexp: \(readOnly.path)/b_open.npy: output directory not writable: permission denied\n")
        #expect(allNames(in: readOnly).isEmpty)

        let r2 = try Privileges.npyexpAsNobody(["-o", writable.path, inputs.path])
        #expect(r2.status == 1, "\(r2.stderr)")
        #expect(r2.stderr == "npyexp: \(inputs.path)/a_locked.npy: cannot open: permission denied\n")
        #expect(allNames(in: writable) == ["b_open.npy", "b_open.npy.sha256"])
    }

    // MARK: overlapping runs, reruns, changing inputs

    @Test func twoRunsAtOnceFinishWithValidOutputsAndDoEachInputOnce() throws {
        let dir = try scratchDirectory("overlap")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let count = 8
        try python(
            """
            import sys, numpy as np
            for i in range(int(sys.argv[2])):
                np.save(f"{sys.argv[1]}/t{i:02d}.npy", np.random.default_rng(i).standard_normal(100_000, dtype=np.float32))
            """, [inputs.path, String(count)])
        let reference = dir.appendingPathComponent("ref")
        #expect(try npyexp(["--gzip", "-o", reference.path, inputs.path]).status == 0)

        let out = dir.appendingPathComponent("out")
        let arguments = ["-v", "--gzip", "-o", out.path, inputs.path]
        let a = try Spawned(Paths.binary, arguments)
        let b = try Spawned(Paths.binary, arguments)
        let ra = try a.wait()
        let rb = try b.wait()
        #expect(ra.status == 0 && rb.status == 0, "\(ra.stderr)\n\(rb.stderr)")
        let (doneA, skippedA) = doneAndSkipped(ra.stderr)
        let (doneB, skippedB) = doneAndSkipped(rb.stderr)
        // Each input computed by exactly one of the two runs, and found complete by the other.
        #expect(doneA.count + doneB.count == count, "done: \(doneA.count) + \(doneB.count)")
        #expect(skippedA.count + skippedB.count == count)
        // Same bytes as a single run made, sidecars included; coreutils agrees; no temporaries.
        #expect(listFiles(out) == listFiles(reference))
        for name in listFiles(reference) {
            #expect(try bytes(out.appendingPathComponent(name)) == bytes(reference.appendingPathComponent(name)), "\(name)")
        }
        for name in listFiles(out) where name.hasSuffix(".sha256") {
            #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent(name)), "\(name)")
        }
        #expect(temporaries(in: out).isEmpty)
    }

    @Test func rerunsRedoExactlyWhatChangedOrIsDamaged() throws {
        let dir = try scratchDirectory("rerun")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        for (i, name) in ["a", "b", "c", "d"].enumerated() {
            try makeNormalInput(inputs.appendingPathComponent("\(name).npy"), elements: 10_000, seed: i)
        }
        let out = dir.appendingPathComponent("out")
        func outURL(_ n: String) -> URL { out.appendingPathComponent("\(n).npy") }
        func runVerbose(_ extra: [String] = []) throws -> (done: Set<String>, skipped: Set<String>) {
            let r = try npyexp(["-v"] + extra + ["-o", out.path, inputs.path])
            #expect(r.status == 0, "\(r.stderr)")
            let (done, skipped) = doneAndSkipped(r.stderr)
            func names(_ lines: [String]) -> Set<String> {
                Set(["a", "b", "c", "d"].filter { n in lines.contains { $0.hasPrefix("npyexp: \(inputs.path)/\(n).npy") } })
            }
            return (names(done), names(skipped))
        }
        #expect(try runVerbose().done == ["a", "b", "c", "d"])
        let dBefore = try FileManager.default.attributesOfItem(atPath: outURL("d").path)[.modificationDate] as? Date

        try makeNormalInput(inputs.appendingPathComponent("a.npy"), elements: 10_000, seed: 99)  // same size, new data
        let b = try bytes(outURL("b"))
        try b.prefix(b.count / 2).write(to: outURL("b"))  // truncated output
        var c = try bytes(outURL("c"))
        c[c.count - 1] ^= 0x01  // one flipped bit
        try c.write(to: outURL("c"))
        let second = try runVerbose()
        #expect(second.done == ["a", "b", "c"] && second.skipped == ["d"])
        let dAfter = try FileManager.default.attributesOfItem(atPath: outURL("d").path)[.modificationDate] as? Date
        #expect(dBefore == dAfter, "an output that is complete is not rewritten")
        // The redone output is exp of the new input (numpy, in float64 rounded once to float32, within 1 ulp).
        try python(
            """
            import sys, numpy as np
            x = np.load(sys.argv[1]); y = np.load(sys.argv[2])
            ref = np.exp(x.astype(np.float64)).astype(np.float32)
            ulps = np.abs(y.astype(np.float64) - ref) / np.spacing(ref)
            assert ulps.max() <= 1, ulps.max()
            """, [inputs.appendingPathComponent("a.npy").path, outURL("a").path])
        // Other options make other bytes: everything is redone, then complete again.
        #expect(try runVerbose(["--dtype", "float64"]).done == ["a", "b", "c", "d"])
        #expect(try runVerbose(["--dtype", "float64"]).skipped == ["a", "b", "c", "d"])
        // --force redoes everything.
        #expect(try runVerbose(["--dtype", "float64", "--force"]).done == ["a", "b", "c", "d"])
    }

    @Test func inputChangedWhileBeingReadIsRefused() throws {
        let dir = try scratchDirectory("changing")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("moving.npy")
        try makeNormalInput(input, elements: 4_000_000)  // 16 MB at level 9: long enough to touch it meanwhile
        let out = dir.appendingPathComponent("out")
        let p = try Spawned(Paths.binary, ["--gzip", "-l", "9", "--strategy", "default", "-o", out.path, input.path])
        #expect(poll(timeout: 30) {
            !unnamedTemporaries(of: p.pid, below: out).isEmpty || !temporaries(in: out).isEmpty
        })
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: input.path)
        let r = try p.wait()
        #expect(r.status == 1)
        #expect(r.stderr == "npyexp: \(input.path): input changed while being read\n")
        #expect(allNames(in: out).isEmpty)
    }

    // MARK: paths

    @Test func outputsNeverLandOutsideTheOutputDirectory() throws {
        let dir = try scratchDirectory("paths")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        let good = Paths.fixtures.appendingPathComponent("bad/good.npy")
        let inputs = dir.appendingPathComponent("in")
        for sub in ["in/sub", "escape", "elsewhere", "o1/o2", "out2"] {
            try fm.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try fm.copyItem(at: good, to: inputs.appendingPathComponent("sub/x.npy"))
        try fm.copyItem(at: good, to: inputs.appendingPathComponent("y.npy"))
        try fm.copyItem(at: good, to: dir.appendingPathComponent("escape/e.npy"))
        // A glob whose match climbs out with '..': in/sub/../../escape/e.npy relative to in/.
        let o2 = dir.appendingPathComponent("o1/o2")
        let r1 = try npyexp(["-o", o2.path, inputs.path + "/*/../../escape/*.npy"])
        #expect(r1.status == 1)
        #expect(r1.stderr.contains("output path would leave the output directory"), "\(r1.stderr)")
        #expect(allNames(in: dir.appendingPathComponent("o1")) == ["o2"])
        #expect(allNames(in: o2).isEmpty)
        // A directory inside the output directory that is a symbolic link out of it.
        let out2 = dir.appendingPathComponent("out2")
        try fm.createSymbolicLink(at: out2.appendingPathComponent("sub"), withDestinationURL: dir.appendingPathComponent("elsewhere"))
        let r2 = try npyexp(["-o", out2.path, inputs.path])
        #expect(r2.status == 1)
        #expect(r2.stderr.hasPrefix("npyexp: \(inputs.path)/sub/x.npy: refused: ") && r2.stderr.contains("symbolic link"),
                "\(r2.stderr)")
        #expect(allNames(in: dir.appendingPathComponent("elsewhere")).isEmpty)
        #expect(allNames(in: out2) == ["sub", "y.npy", "y.npy.sha256"])
        // An output whose name is a symbolic link is replaced, never written through.
        let target = dir.appendingPathComponent("elsewhere/victim")
        try Data("keep".utf8).write(to: target)
        let out3 = dir.appendingPathComponent("out3")
        try fm.createDirectory(at: out3, withIntermediateDirectories: true)
        try fm.createSymbolicLink(at: out3.appendingPathComponent("y.npy"), withDestinationURL: target)
        #expect(try npyexp(["-o", out3.path, inputs.appendingPathComponent("y.npy").path]).status == 0)
        #expect(try bytes(target) == Data("keep".utf8))
        // Inputs untouched throughout.
        #expect(try bytes(inputs.appendingPathComponent("y.npy")) == bytes(good))
        #expect(try bytes(inputs.appendingPathComponent("sub/x.npy")) == bytes(good))
    }

    // MARK: verify

    @Test func verifyAgreesWithSha256sumAndGzipAndChecksStructure() throws {
        let dir = try scratchDirectory("verify")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        #expect(try npyexp(["-o", out.path, Paths.data.path]).status == 0)
        let clean = try npyexp(["verify", out.path])
        #expect(clean.status == 0 && clean.stderr.isEmpty, "\(clean.stderr)")
        let sidecars = listFiles(out).filter { $0.hasSuffix(".sha256") }
        // OK lines go to standard output by default, as with `sha256sum -c` (VerifyStreamTests has the details).
        #expect(String(decoding: clean.stdout, as: UTF8.self).split(separator: "\n").filter { $0.hasSuffix(": OK") }.count == sidecars.count)

        func url(_ n: String) -> URL { out.appendingPathComponent(n) }
        var normal = try bytes(url("normal_f32.npy.gz"))
        normal[normal.count / 2] ^= 0x10
        try normal.write(to: url("normal_f32.npy.gz"))
        let int16 = try bytes(url("int16.npy.gz"))
        try int16.dropLast(10).write(to: url("int16.npy.gz"))
        try (bytes(url("uint8.npy")) + Data([1, 2, 3])).write(to: url("uint8.npy"))
        try FileManager.default.removeItem(at: url("scalar_0d.npy"))
        try Data("not a checksum line\n".utf8).write(to: url("bool.npy.gz.sha256"))
        // Intact checksum but a broken array: only the structure check can see it (numpy refuses it too).
        try FileManager.default.copyItem(at: Paths.fixtures.appendingPathComponent("bad/short_data.npy"), to: url("short.npy"))
        #expect(try run("/bin/sh", ["-c", "sha256sum short.npy > short.npy.sha256"], in: out).status == 0)
        #expect(throws: (any Error).self) {
            try python("import sys, numpy as np; np.load(sys.argv[1])", [url("short.npy").path])
        }

        let r = try npyexp(["verify", out.path])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        func faults(_ name: String) -> [String] { lines.filter { $0.hasPrefix("npyexp: \(url(name).path): ") } }
        // Independent verdicts: coreutils for the checksums, gzip(1) for the gzip streams.
        for sidecar in listFiles(out).filter({ $0.hasSuffix(".sha256") }) where sidecar != "bool.npy.gz.sha256" {
            let name = String(sidecar.dropLast(".sha256".count))
            let exists = FileManager.default.fileExists(atPath: url(name).path)
            let coreutilsOK = try exists && coreutilsChecksumOK(sidecar: url(sidecar))
            let gzipOK = try !exists || !name.hasSuffix(".gz") || gzipTestOK(url(name))
            let structureBad = name == "short.npy"
            #expect(faults(name).isEmpty == (coreutilsOK && gzipOK && !structureBad), "\(name): \(faults(name))")
        }
        #expect(faults("normal_f32.npy.gz").contains { $0.contains("SHA-256 mismatch") })
        #expect(faults("normal_f32.npy.gz").count == 2, "checksum and deflate stream both named")
        #expect(faults("int16.npy.gz").contains { $0.contains("truncated gzip stream") })
        #expect(faults("uint8.npy").contains { $0.contains("3 unexpected bytes after the array data") })
        #expect(faults("scalar_0d.npy").contains { $0.contains("no such file or directory") })
        #expect(faults("short.npy") == ["npyexp: \(url("short.npy").path): data shorter than the shape: expected 192 bytes, got 189"])
        #expect(lines.contains("npyexp: \(url("bool.npy.gz.sha256").path): malformed checksum line 1"))
        // A single file without a sidecar is a fault; nothing to check at all is 66.
        try FileManager.default.copyItem(at: Paths.fixtures.appendingPathComponent("bad/good.npy"), to: url("lone.exp.npy"))
        let lone = try npyexp(["verify", url("lone.exp.npy").path])
        #expect(lone.status == 1 && lone.stderr.contains("no checksum"))
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(try npyexp(["verify", empty.path]).status == 66)
    }
}

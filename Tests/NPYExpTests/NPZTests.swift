// End-to-end tests of .npz archives (issue 12): the npyexp binary runs as a real process over the numpy-made archives
// of fixtures/npz (made by fixtures/npz/make_npz.py) and archives Python builds at test time, and every output is held
// against independent readers: numpy (`np.load`, values within 1 ulp of make_fixtures.expected_of's long-double exp,
// 4 ulp per component for complex), Python's zipfile (member names, order and compression kinds) and coreutils
// (`sha256sum -c`). Bad archives must give their phrase (fixtures/npz/bad/expected.tsv), exit 1 and leave nothing.
// Run alone with `swift test --filter NPZTests`. Relies on Support.swift, ReliabilitySupport.swift, python3 + numpy.
import Foundation
import Testing

enum NPZPaths {
    static let root = Paths.fixtures.appendingPathComponent("npz")
    static let data = root.appendingPathComponent("data")
    static let expected = root.appendingPathComponent("expected")
    static let bad = root.appendingPathComponent("bad")
}

/// Compares output archives with their references in Python. Modes (after the fixtures directory, for
/// make_fixtures.expected_of):
///   tree OUT EXPECTED INPUT KINDS          every EXPECTED/REL.npz against OUT/REL.npz, its input INPUT/REL.npz
///   computed OUT INPUT KINDS [DTYPE]       OUT against exp of INPUT's members (converted to DTYPE first when given)
/// KINDS: `input` (each member compressed as the input's), `stored` or `deflated` (every member).
/// Checks: member names and order as the input's, compression kinds, np.load keys, dtype, shape, Fortran order, ulps.
private let npzCheckScript = """
    import os, sys, zipfile
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from make_fixtures import expected_of

    def components(x):
        x = np.ascontiguousarray(x).ravel()
        x = x.astype(x.dtype.newbyteorder("="))
        return x.view(np.float32 if x.dtype.itemsize == 8 else np.float64) if x.dtype.kind == "c" else x

    def ulps(a, b):
        a, b = components(a), components(b)
        if a.size == 0:
            return 0.0
        ints = {2: np.int16, 4: np.int32, 8: np.int64}[a.dtype.itemsize]
        ia, ib = a.view(ints).astype(np.int64), b.view(ints).astype(np.int64)
        mask = np.int64(np.iinfo(ints).max)
        ma, mb = (ia & mask).astype(np.uint64), (ib & mask).astype(np.uint64)
        d = np.where((ia < 0) == (ib < 0), np.maximum(ma, mb) - np.minimum(ma, mb), ma + mb).astype(np.float64)
        na, nb = np.isnan(a), np.isnan(b)
        d[na & nb] = 0
        d[na != nb] = np.inf
        return float(d.max())

    def check(label, out, inp, expected, kinds):
        if not os.path.exists(out):
            return [f"{label}: no output {out}"]
        bad = []
        zo, zi = zipfile.ZipFile(out), zipfile.ZipFile(inp)
        if zo.namelist() != zi.namelist():
            bad.append(f"{label}: members {zo.namelist()}, input has {zi.namelist()}")
        got = [i.compress_type for i in zo.infolist()]
        want = [i.compress_type for i in zi.infolist()]
        if kinds != "input":
            want = [{"stored": 0, "deflated": 8}[kinds]] * len(want)
        if got != want:
            bad.append(f"{label}: compression kinds {got}, want {want}")
        loaded = np.load(out)
        if loaded.files != list(expected):
            bad.append(f"{label}: np.load keys {loaded.files}, want {list(expected)}")
        for key in expected:
            if key not in loaded.files:
                continue
            a, b = loaded[key], expected[key]
            if a.dtype != b.dtype or a.shape != b.shape or np.isfortran(a) != np.isfortran(b):
                bad.append(f"{label}:{key}: {a.dtype}{a.shape} fortran={np.isfortran(a)}, "
                           f"want {b.dtype}{b.shape} fortran={np.isfortran(b)}")
                continue
            u, tolerance = ulps(a, b), (4 if b.dtype.kind == "c" else 1)
            if u > tolerance:
                bad.append(f"{label}:{key}: {u} ulp")
        return bad

    mode, bad = sys.argv[2], []
    if mode == "tree":
        out, ref, inp, kinds = sys.argv[3:7]
        for root, _, files in os.walk(ref):
            for f in sorted(files):
                rel = os.path.relpath(os.path.join(root, f), ref)
                with np.load(os.path.join(ref, rel)) as e:
                    expected = {k: e[k] for k in e.files}
                bad += check(rel, os.path.join(out, rel), os.path.join(inp, rel), expected, kinds)
    else:
        out, inp, kinds = sys.argv[3:6]
        dtype = sys.argv[6] if len(sys.argv) > 6 else None
        with np.load(inp) as i, np.errstate(over="ignore"):
            expected = {k: expected_of(i[k].astype(dtype), None) if dtype else
                           expected_of(i[k], None if i[k].dtype.kind in "fc" else np.float32) for k in i.files}
        bad += check(os.path.basename(out), out, inp, expected, kinds)
    print(*bad, sep=chr(10))
    sys.exit(1 if bad else 0)
    """

/// Runs the check script; records a failure with what it printed.
private func expectArchivesMatch(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let r = try run("/usr/bin/env", ["python3", "-c", npzCheckScript, Paths.fixtures.path] + arguments)
    #expect(r.status == 0, "\(String(decoding: r.stdout, as: UTF8.self))\(r.stderr)", sourceLocation: sourceLocation)
}

/// The fixtures/npz/bad table, one test case a row.
let npzBadTable: [NPZBadCase] = ((try? phraseTable("npz/bad/expected.tsv")) ?? []).map {
    NPZBadCase(name: $0.name, phrases: $0.phrases)
}

struct NPZBadCase: CustomTestStringConvertible, Sendable {
    var name: String
    var phrases: [String]
    var testDescription: String { name }
}

/// The relative paths of the good archives.
let npzFixtureNames: [String] = listFiles(NPZPaths.data)

@Suite(.serialized) struct NPZTests {
    /// One `-o` run over fixtures/npz/data, shared by the checks below (not a precondition: until archives are
    /// supported the run fails, and each test says so instead of the runner stopping).
    static let fixtureRun: (output: URL, result: RunResult) = {
        let dir = try! scratchDirectory("npz")
        return (dir, try! npyexp(["-o", dir.path, NPZPaths.data.path]))
    }()

    @Test func fixturesMatchNumpyReferences() throws {
        let (out, r) = Self.fixtureRun
        // The one line allowed: the specials members' float32/float16 overflow warning.
        #expect(r.status == 0, "status \(r.status): \(r.stderr)")
        #expect(
            r.stderr.isEmpty || r.stderr.hasPrefix("npyexp: warning: ") && r.stderr.contains("overflowed to inf in float")
                && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        try expectArchivesMatch(["tree", out.path, NPZPaths.expected.path, NPZPaths.data.path, "input"])
    }

    @Test func outputsKeepRelativePathsAndSidecarsVerify() throws {
        let out = Self.fixtureRun.output
        let outputs = listFiles(out)
        #expect(outputs.filter { !$0.hasSuffix(".sha256") } == npzFixtureNames)
        #expect(outputs.filter { $0.hasSuffix(".sha256") } == npzFixtureNames.map { $0 + ".sha256" })
        for name in npzFixtureNames {
            let sidecar = out.appendingPathComponent(name + ".sha256")
            #expect(try coreutilsChecksumOK(sidecar: sidecar), "sha256sum -c \(name).sha256")
        }
        #expect(try temporariesBelow(out).isEmpty)
    }

    @Test func outputsAreByteIdenticalAcrossRuns() throws {
        let again = try scratchDirectory("npz-again")
        defer { try? FileManager.default.removeItem(at: again) }
        let r = try npyexp(["-j", "1", "-o", again.path, NPZPaths.data.path])
        #expect(r.status == 0, "\(r.stderr)")
        let first = Self.fixtureRun.output
        #expect(listFiles(again) == listFiles(first))
        for name in listFiles(first) {
            let (a, b) = (first.appendingPathComponent(name), again.appendingPathComponent(name))
            guard FileManager.default.fileExists(atPath: b.path) else { continue }
            #expect(try bytes(a) == bytes(b), "\(name)")
        }
    }

    @Test func besideInputNamingRerunSkipsAndForceRewritesTheSameBytes() throws {
        let dir = try scratchDirectory("npz-beside")
        defer { try? FileManager.default.removeItem(at: dir) }
        try copyFixtures(["savez_mixed.npz", "nested/inner.npz"], from: NPZPaths.data, to: dir)
        let r = try npyexp([dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(listFiles(dir) == [
            "nested/inner.exp.npz", "nested/inner.exp.npz.sha256", "nested/inner.npz",
            "savez_mixed.exp.npz", "savez_mixed.exp.npz.sha256", "savez_mixed.npz",
        ])
        let output = dir.appendingPathComponent("savez_mixed.exp.npz")
        guard FileManager.default.fileExists(atPath: output.path) else { return }
        #expect(try coreutilsChecksumOK(sidecar: dir.appendingPathComponent("savez_mixed.exp.npz.sha256")))
        try expectArchivesMatch(["computed", output.path, dir.appendingPathComponent("savez_mixed.npz").path, "input"])
        let written = try bytes(output)
        try backdate(output, seconds: 120)
        let mtime = try FileManager.default.attributesOfItem(atPath: output.path)[.modificationDate] as? Date

        // A rerun skips both (the outputs are never taken as inputs), and says so with -v.
        let rerun = try npyexp(["-v", dir.path])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(doneAndSkipped(rerun.stderr).skipped.count == 2 && doneAndSkipped(rerun.stderr).done.isEmpty,
                "\(rerun.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: output.path)[.modificationDate] as? Date == mtime)
        #expect(listFiles(dir).count == 6)

        // --force computes again: the same bytes.
        let forced = try npyexp(["--force", dir.path])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try bytes(output) == written)
    }

    @Test(arguments: [("--gzip", "deflated"), ("--no-gzip", "stored")])
    func gzipOptionsSetEveryMembersCompression(_ option: String, _ kind: String) throws {
        let out = try scratchDirectory("npz-\(kind)")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try npyexp([option, "-o", out.path, NPZPaths.data.path])
        #expect(r.status == 0, "\(r.stderr)")
        try expectArchivesMatch(["tree", out.path, NPZPaths.expected.path, NPZPaths.data.path, kind])
    }

    @Test func dtypeOptionAppliesToEveryMember() throws {
        let out = try scratchDirectory("npz-dtype")
        defer { try? FileManager.default.removeItem(at: out) }
        // Real members only: a complex member is refused under --dtype, as for .npy.
        let inputs = ["savez_compressed.npz", "zip64_forced_mixed_kinds.npz"]
        let paths = inputs.map { NPZPaths.data.appendingPathComponent($0).path }
        let r = try npyexp(["--dtype", "float64", "-o", out.path] + paths)
        #expect(r.status == 0, "\(r.stderr)")
        for name in inputs {
            try expectArchivesMatch([
                "computed", out.appendingPathComponent(name).path, NPZPaths.data.appendingPathComponent(name).path,
                "input", "float64",
            ])
        }
    }

    @Test(arguments: npzBadTable)
    func badArchiveFailsWithItsPhraseAndLeavesNothing(_ bad: NPZBadCase) throws {
        let dir = try scratchDirectory("npz-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in")
        let out = dir.appendingPathComponent("out")
        try copyFixtures([bad.name, "good.npz"], from: NPZPaths.bad, to: input)

        // In a batch with a good archive: one line naming the bad one, exit 1, only the good output committed.
        let r = try npyexp(["-o", out.path, input.path])
        #expect(r.status == 1, "\(bad.name): status \(r.status); \(r.stderr)")
        #expect(!r.terminatedBySignal)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 1, "\(bad.name): one line, got \(lines)")
        let prefix = "npyexp: \(input.path)/\(bad.name): "
        #expect(lines.first?.hasPrefix(prefix) == true, "\(bad.name): \(lines)")
        for phrase in bad.phrases {
            #expect(lines.first?.contains(phrase) == true, "\(bad.name) should say '\(phrase)': \(lines)")
        }
        #expect(allNames(in: out) == ["good.npz", "good.npz.sha256"], "\(bad.name)")
        #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent("good.npz.sha256")))

        // Alone, beside the input: still nothing written.
        let alone = try npyexp([input.appendingPathComponent(bad.name).path])
        #expect(alone.status == 1, "\(bad.name) alone: \(alone.stderr)")
        #expect(allNames(in: input) == [bad.name, "good.npz"].sorted(), "\(bad.name) alone")
        #expect(try temporariesBelow(dir).isEmpty, "\(bad.name): temporaries left")
    }

    @Test func memberNamesWithSlashesAndDotsStayNames() throws {
        let root = try scratchDirectory("npz-names")
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("a/b/in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let archive = input.appendingPathComponent("names.npz")
        try python(
            """
            import sys, warnings, zipfile, numpy as np
            with zipfile.ZipFile(sys.argv[1], "w") as zf:
                for i, name in enumerate(["../evil.npy", "../../up.npy", "sub/x.npy", "sub/../../y.npy", "/abs.npy"]):
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    with zf.open(info, "w") as f:
                        np.lib.format.write_array(f, np.linspace(-i, i, 5, dtype=np.float32))
            assert len(zipfile.ZipFile(sys.argv[1]).namelist()) == 5
            """, [archive.path])
        let out = root.appendingPathComponent("a/b/out")
        let beside = try npyexp([archive.path])
        let under = try npyexp(["-o", out.path, archive.path])
        #expect(beside.status == 0, "\(beside.stderr)")
        #expect(under.status == 0, "\(under.stderr)")
        // Exactly the two archives and their sidecars: no member became a file, here or anywhere above.
        #expect(listFiles(root) == [
            "a/b/in/names.exp.npz", "a/b/in/names.exp.npz.sha256", "a/b/in/names.npz",
            "a/b/out/names.npz", "a/b/out/names.npz.sha256",
        ])
        for output in [input.appendingPathComponent("names.exp.npz"), out.appendingPathComponent("names.npz")]
        where FileManager.default.fileExists(atPath: output.path) {
            try expectArchivesMatch(["computed", output.path, archive.path, "input"])
        }
    }

    @Test func largeArchivesOnTwoJobs() throws {
        let dir = try scratchDirectory("npz-large")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        // 12 MiB of float32 a member (three 4 MiB chunks): two deflated members, and one stored.
        try python(
            """
            import sys, numpy as np
            rng = np.random.default_rng(12)
            n = 3 << 20
            a = lambda scale: (rng.standard_normal(n, dtype=np.float32) * scale).reshape(1024, -1)
            np.savez_compressed(sys.argv[1] + "/compressed.npz", first=a(4), second=np.asfortranarray(a(30)))
            np.savez(sys.argv[1] + "/stored.npz", only=a(10))
            """, [input.path])
        let out = dir.appendingPathComponent("out")
        let r = try npyexp(["-j", "2", "-o", out.path, input.path])
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["compressed.npz", "stored.npz"] {
            #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent(name + ".sha256")), "\(name)")
            try expectArchivesMatch([
                "computed", out.appendingPathComponent(name).path, input.appendingPathComponent(name).path, "input",
            ])
        }
        #expect(try temporariesBelow(dir).isEmpty)
    }

    @Test func inspectListsEveryMember() throws {
        let r = try npyexp(["inspect", NPZPaths.data.appendingPathComponent("savez_mixed.npz").path])
        #expect(r.status == 0, "\(r.stderr)")
        let text = String(decoding: r.stdout, as: UTF8.self)
        let members = ["f32.npy", "specials_f32.npy", "f64.npy", "f16.npy", "i16.npy", "flags.npy", "c64.npy",
                       "scalar.npy", "zero_size.npy", "fortran.npy", "big_endian.npy"]
        for name in members { #expect(text.contains(name), "inspect omits member \(name): \(text)") }
        for dtype in ["float32", "float64", "float16", "int16", "bool", "complex64"] {
            #expect(text.contains(dtype), "inspect omits dtype \(dtype): \(text)")
        }
        #expect(text.contains("(3, 0, 2)"), "the zero-size member's shape, written as for .npy: \(text)")
    }

    @Test func verifyChecksTheSidecarAndEveryMember() throws {
        let dir = try scratchDirectory("npz-verify")
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try npyexp(["-o", dir.path, NPZPaths.data.appendingPathComponent("savez_mixed.npz").path])
        #expect(made.status == 0, "\(made.stderr)")
        let output = dir.appendingPathComponent("savez_mixed.npz")
        guard FileManager.default.fileExists(atPath: output.path) else { return }
        let ok = try npyexp(["verify", output.path])
        #expect(ok.status == 0, "\(ok.stderr)")

        // Flip a byte inside the first (stored) member's array data: the sidecar no longer matches.
        try python(
            """
            import struct, sys, zipfile
            path = sys.argv[1]
            info = zipfile.ZipFile(path).infolist()[0]
            blob = bytearray(open(path, "rb").read())
            nlen, xlen = struct.unpack("<HH", blob[info.header_offset + 26:info.header_offset + 30])
            blob[info.header_offset + 30 + nlen + xlen + info.compress_size - 3] ^= 0x40
            open(path, "wb").write(blob)
            """, [output.path])
        let damaged = try npyexp(["verify", output.path])
        #expect(damaged.status != 0, "a damaged member verified: \(damaged.stderr)")
        // With a sidecar made for the damaged bytes, only the member's CRC-32 can tell (issue 12, item 3).
        try run("/bin/sh", ["-c", "sha256sum savez_mixed.npz > savez_mixed.npz.sha256"], in: dir)
        #expect(try coreutilsChecksumOK(sidecar: dir.appendingPathComponent("savez_mixed.npz.sha256")))
        let crc = try npyexp(["verify", output.path])
        #expect(crc.status != 0, "a member with a wrong CRC-32 verified: \(crc.stderr)")
        #expect(crc.stderr.contains("CRC-32 mismatch"), "\(crc.stderr)")
    }

    /// Every good fixture through a pipe (`-c -`) gives the bytes the file gives: stored members whose sizes follow
    /// their data are delimited by their descriptors; and npyexp's own outputs (zip64, data descriptors, stored or
    /// deflated) read back from a pipe the same way.
    @Test func pipesReadEveryLayout() throws {
        let dir = try scratchDirectory("npz-pipe")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in npzFixtureNames {
            let path = NPZPaths.data.appendingPathComponent(name).path
            let fromFile = try npyexp(["-c", path])
            let fromPipe = try npyexp(["-c", "-"], input: try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(fromFile.status == 0 && fromPipe.status == 0, "\(name): \(fromFile.stderr) \(fromPipe.stderr)")
            #expect(fromFile.stdout == fromPipe.stdout, "\(name): pipe and file outputs differ")
            // The output again, stored: its members end in data descriptors only.
            let stored = try npyexp(["-c", "--no-gzip", "-"], input: fromFile.stdout)
            let again = try npyexp(["-c", "--no-gzip", "-"], input: stored.stdout)
            #expect(stored.status == 0 && again.status == 0, "\(name): \(stored.stderr) \(again.stderr)")
            let out = dir.appendingPathComponent("again.npz")
            try again.stdout.write(to: out)
            _ = try python(
                """
                import sys, zipfile, numpy as np
                z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
                assert all(i.compress_type == 0 for i in z.infolist())
                np.load(sys.argv[1])
                """, [out.path])
        }
    }

    /// Past 65,535 members the writer adds the zip64 end records (and Python's zipfile finds every member).
    @Test func zip64EndRecordsPastSixtyFiveThousandMembers() throws {
        let dir = try scratchDirectory("npz-many")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("many.npz")
        try python(
            """
            import io, sys, zipfile, numpy as np
            b = io.BytesIO(); np.save(b, np.float32([0.5, 1.0])); d = b.getvalue()
            with zipfile.ZipFile(sys.argv[1], "w") as z:
                for i in range(70000): z.writestr(f"m{i}.npy", d)
            """, [input.path])
        let r = try npyexp([input.path])
        #expect(r.status == 0, "\(r.stderr)")
        try python(
            """
            import struct, sys, zipfile, numpy as np
            data = open(sys.argv[1], "rb").read()
            assert data.rfind(b"PK\\x06\\x06") > 0, "no zip64 end record"
            z = zipfile.ZipFile(sys.argv[1]); assert len(z.infolist()) == 70000
            a = np.load(sys.argv[1]); v = a["m69999"]
            assert v.dtype == np.float32 and v.tolist() == np.exp(np.float64([0.5, 1.0])).astype(np.float32).tolist(), v
            """, [dir.appendingPathComponent("many.exp.npz").path])
        let verified = try npyexp(["verify", dir.appendingPathComponent("many.exp.npz").path])
        #expect(verified.status == 0, "\(verified.stderr)")
    }

    /// backward over archives: each gradient member times the result member of the same name (conj for complex),
    /// against numpy in long double; members that do not pair are refused with the result's name, nothing written.
    @Test func backwardPairsMembersByName() throws {
        let dir = try scratchDirectory("npz-backward")
        defer { try? FileManager.default.removeItem(at: dir) }
        try python(
            """
            import sys, numpy as np
            rng = np.random.default_rng(5)
            x = {"a": rng.standard_normal((30, 40)).astype(np.float32), "b": rng.standard_normal(5000),
                 "c": (rng.standard_normal(7) + 1j * rng.standard_normal(7)).astype(np.complex64)}
            np.savez(sys.argv[1] + "/res.npz", **{k: np.exp(v) for k, v in x.items()})
            g = {k: (rng.standard_normal(v.shape) + (1j * rng.standard_normal(v.shape) if v.dtype.kind == "c" else 0))
                 .astype(v.dtype) for k, v in x.items()}
            np.savez_compressed(sys.argv[1] + "/grad.npz", **g)
            np.savez(sys.argv[1] + "/swapped.npz", b=g["b"], a=g["a"], c=g["c"])
            """, [dir.path])
        let r = try npyexp(["backward", dir.appendingPathComponent("res.npz").path,
                            dir.appendingPathComponent("grad.npz").path])
        #expect(r.status == 0, "\(r.stderr)")
        try python(
            """
            import sys, numpy as np
            d = sys.argv[1]
            y, g, o = np.load(d + "/res.npz"), np.load(d + "/grad.npz"), np.load(d + "/grad.backward.npz")
            assert o.files == ["a", "b", "c"], o.files
            for k in o.files:
                wide = np.clongdouble if g[k].dtype.kind == "c" else np.longdouble
                ref = (g[k].astype(wide) * np.conj(y[k].astype(wide))).astype(g[k].dtype)
                assert o[k].dtype == g[k].dtype and o[k].shape == g[k].shape, k
                err = np.abs(o[k].astype(wide) - ref.astype(wide)) / np.maximum(np.abs(ref.astype(wide)), 1e-300)
                assert err.max() <= 2 * np.finfo(g[k].dtype).eps, (k, err.max())
            """, [dir.path])
        let swapped = try npyexp(["backward", dir.appendingPathComponent("res.npz").path,
                                  dir.appendingPathComponent("swapped.npz").path])
        #expect(swapped.status == 1)
        #expect(swapped.stderr.contains("res.npz: member 1 is 'a.npy', the gradient's is 'b.npy'"), "\(swapped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("swapped.backward.npz").path))
        #expect(try temporariesBelow(dir).isEmpty)
    }

    /// --manifest records each member of an archive: name, compression, dtypes, shape, counts and payload digest.
    @Test func manifestRecordsEveryMember() throws {
        let dir = try scratchDirectory("npz-manifest")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = dir.appendingPathComponent("m.jsonl")
        let r = try npyexp(["-o", dir.appendingPathComponent("out").path, "--manifest", manifest.path,
                            NPZPaths.data.appendingPathComponent("savez_mixed.npz").path])
        #expect(r.status == 0, "\(r.stderr)")
        try python(
            """
            import hashlib, json, sys, zipfile
            rec = [json.loads(l) for l in open(sys.argv[1])][0]
            members = rec["members"]
            z = zipfile.ZipFile(sys.argv[2])
            assert [m["name"] for m in members] == z.namelist(), members
            for m in members:
                assert m["payload_sha256"] == hashlib.sha256(z.read(m["name"])).hexdigest(), m["name"]
            f32 = next(m for m in members if m["name"] == "specials_f32.npy")
            assert f32["dtype_out"] == "float32" and f32["nan"] >= 1 and f32["overflow_inf"] >= 1, f32
            i16 = next(m for m in members if m["name"] == "i16.npy")
            assert i16["dtype_in"] == "int16" and i16["dtype_out"] == "float32", i16
            assert rec["elements"] == sum(m["elements"] for m in members)
            """, [manifest.path, dir.appendingPathComponent("out/savez_mixed.npz").path])
    }
}

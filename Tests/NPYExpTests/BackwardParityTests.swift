// `npyexp backward` at parity with `exp`: directories paired by relative path (and kept below -o), complete outputs
// skipped on rerun and redone with -f or when the forward result changes, --dtype, --sums / --manifest, -q,
// --fail-fast. References come from numpy; sums are checked with coreutils. Relies on the binary, numpy, sha256sum.
import Foundation
import Testing

@Suite struct BackwardParityTests {
    /// results/ and grads/ with the same relative paths (one nested), and numpy's products as references.
    func makeTrees(_ dir: URL) throws {
        try python(
            """
            import sys, os, numpy as np
            d = sys.argv[1]
            rng = np.random.default_rng(11)
            for rel in ["a.npy", "sub/b.npy"]:
                for side in ["results", "grads"]:
                    os.makedirs(os.path.join(d, side, os.path.dirname(rel)), exist_ok=True)
                y = np.exp(rng.uniform(-5, 5, 1000)).astype(np.float32)
                g = rng.standard_normal(1000).astype(np.float32)
                np.save(os.path.join(d, "results", rel), y)
                np.save(os.path.join(d, "grads", rel), g)
                np.save(os.path.join(d, "ref-" + rel.replace("/", "-")), g.astype(np.float64) * y.astype(np.float64))
            """, [dir.path])
    }

    @Test func directoriesPairByRelativePathAndRerunsSkip() throws {
        let dir = try scratchDirectory("bwd-parity")
        defer { try? FileManager.default.removeItem(at: dir) }
        try makeTrees(dir)
        let out = dir.appendingPathComponent("out")
        let sums = dir.appendingPathComponent("SUMS")
        let args = ["backward", "-v", "--dtype", "float64", "--sums", sums.path, "--manifest",
                    dir.appendingPathComponent("m.jsonl").path, "-o", out.path,
                    dir.appendingPathComponent("results").path, dir.appendingPathComponent("grads").path]
        let first = try npyexp(args)
        #expect(first.status == 0, "\(first.stderr)")
        // Relative paths kept below -o; float64 products equal numpy's float64 products of the same inputs.
        for rel in ["a.npy", "sub/b.npy"] {
            let got = out.appendingPathComponent(rel)
            try python(
                """
                import sys, numpy as np
                got, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
                assert got.dtype == np.float64, got.dtype
                assert np.array_equal(got, ref), np.max(np.abs(got - ref))
                """, [got.path, dir.appendingPathComponent("ref-" + rel.replacingOccurrences(of: "/", with: "-")).path])
            #expect(try coreutilsChecksumOK(sidecar: URL(fileURLWithPath: got.path + ".sha256")))
        }
        #expect(try run("/usr/bin/env", ["sha256sum", "-c", "--strict", "SUMS"], in: dir).status == 0)
        // Rerun: both skipped, nothing rewritten.
        let second = try npyexp(args)
        #expect(second.status == 0)
        #expect(doneAndSkipped(second.stderr).skipped.count == 2, "\(second.stderr)")
        // A changed forward result redoes its pair only; -f redoes everything.
        try python(
            "import sys, numpy as np\nnp.save(sys.argv[1], np.ones(1000, np.float32))",
            [dir.appendingPathComponent("results/a.npy").path])
        let third = try npyexp(args)
        #expect(doneAndSkipped(third.stderr).done.count == 1 && doneAndSkipped(third.stderr).skipped.count == 1,
                "\(third.stderr)")
        let forced = try npyexp(args + ["-f"])
        #expect(doneAndSkipped(forced.stderr).done.count == 2, "\(forced.stderr)")
    }

    @Test func unpairedFilesQuietAndFailFast() throws {
        let dir = try scratchDirectory("bwd-unpaired")
        defer { try? FileManager.default.removeItem(at: dir) }
        try makeTrees(dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("results/sub/b.npy"))
        let r = try npyexp(["backward", "-q", "-o", dir.appendingPathComponent("out").path,
                            dir.appendingPathComponent("results").path, dir.appendingPathComponent("grads").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no forward result with the relative path sub/b.npy"), "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/a.npy.sha256").path))
        // --fail-fast: a bad first pair stops the run before the next starts.
        let bad = dir.appendingPathComponent("bad.npy")
        try Data("not npy".utf8).write(to: bad)
        let g = dir.appendingPathComponent("grads/a.npy").path
        let g2 = dir.appendingPathComponent("grads/sub/b.npy").path
        let ff = try npyexp(["backward", "--fail-fast", "-j", "1", bad.path, g, bad.path, g2])
        #expect(ff.status == 1)
        #expect(ff.stderr.split(separator: "\n").count == 1, "\(ff.stderr)")
        // Two pairs that would write one output: refused before anything is written.
        let twice = try npyexp(["backward", dir.appendingPathComponent("results/a.npy").path, g,
                                dir.appendingPathComponent("results/a.npy").path, g])
        #expect(twice.status == 64 && twice.stderr.contains("would both be written"), "\(twice.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("grads/a.backward.npy").path))
    }
}

// Signals at random moments: one batch of mixed inputs (large and small, plain, gzip, npyexp's own blocks and an .npz
// archive) is stopped again and again by SIGTERM, SIGINT or SIGHUP after a seeded random delay, so the signal lands
// anywhere: planning, reading, exp, deflate, the group commit's syncs and renames, the sidecars. After every stop: the
// documented status (128 + signal, or 0 when the run finished first), no temporary anywhere, and every output that
// stands verifies with coreutils together with its sidecar (no output without its sidecar, none partial), with unnamed
// and named temporaries in turn. A last run without a signal completes the rest, and every output then equals an
// uninterrupted run's. Relies on the binary, numpy (inputs) and coreutils.
import Foundation
import Testing
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct RandomSignalTests {
    @Test func signalsAtRandomMomentsNeverLeaveAPartialOutput() throws {
        let dir = try scratchDirectory("random-signals")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        try python(
            """
            import gzip, io, sys, zipfile, numpy as np
            d = sys.argv[1]; rng = np.random.default_rng(77)
            big = lambda: rng.standard_normal(3 << 20, dtype=np.float32)
            np.save(d + "/large.npy", big())
            buf = io.BytesIO(); np.save(buf, big()); open(d + "/large.npy.gz", "wb").write(gzip.compress(buf.getvalue(), 1))
            np.savez_compressed(d + "/archive.npz", a=big(), b=rng.standard_normal(1000))
            for i in range(24):
                np.save(d + f"/s{i:02}.npy", rng.standard_normal(300, dtype=np.float32))
            """, [input.path])
        // npyexp's own block format too, made by npyexp.
        let blocks = try npyexp(["-c", "--gzip", input.appendingPathComponent("large.npy").path])
        try blocks.stdout.write(to: input.appendingPathComponent("blocks.npy.gz"))
        let reference = dir.appendingPathComponent("reference")
        let whole = try npyexp(["-o", reference.path, input.path])
        #expect(whole.status == 0, "\(whole.stderr)")

        let out = dir.appendingPathComponent("out")
        var generator = SplitMix64(seed: 20261202)
        let signals = [SIGTERM, SIGINT, SIGHUP]
        var interrupted = 0
        for round in 0..<12 {
            let sig = signals[round % 3]
            // Both kinds of temporary: unnamed (linked into place, or over an earlier round's output) and named.
            let kind = round % 4 < 2 ? "unnamed" : "named"
            let p = try Spawned(Paths.binary, ["-o", out.path, input.path], environment: ["NPYEXP_TEMPORARIES": kind])
            usleep(UInt32.random(in: 0...1_500_000, using: &generator))
            kill(p.pid, sig)
            let r = try p.wait()
            #expect(!r.terminatedBySignal && (r.status == 128 + sig || r.status == 0),
                    "round \(round), signal \(sig), \(kind): status \(r.status), \(r.stderr)")
            if r.status != 0 { interrupted += 1 }
            let names = allNames(in: out)
            #expect(!names.contains { $0.contains(".npyexp-tmp.") }, "round \(round): temporaries \(names)")
            for name in names where !name.hasSuffix(".sha256") {
                #expect(names.contains(name + ".sha256"), "round \(round): \(name) stands without its sidecar")
                #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent(name + ".sha256")),
                        "round \(round): \(name) does not verify")
            }
            // A run that finished leaves nothing to interrupt: start the next one from scratch.
            if r.status == 0 { try FileManager.default.removeItem(at: out) }
        }
        print("random signals: \(interrupted) of 12 runs interrupted")
        #expect(interrupted > 0, "no run was interrupted: the delays are too long for this machine")
        let last = try npyexp(["-o", out.path, input.path])
        #expect(last.status == 0, "\(last.stderr)")
        for name in allNames(in: reference) where !name.hasSuffix(".sha256") {
            let a = try Data(contentsOf: reference.appendingPathComponent(name))
            let b = try Data(contentsOf: out.appendingPathComponent(name))
            #expect(a == b, "\(name) differs from the uninterrupted run's")
        }
    }
}

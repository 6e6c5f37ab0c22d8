// Two runs that provably overlap: the test itself holds an input's lock (as another npyexp run processing it would),
// and checks that a batch over that input commits every other input meanwhile, waits for the held one without
// holding any other lock, and does it once the lock is released. Under a time limit, so a deadlock fails.
// Relies on the binary, flock(2), numpy (inputs) and coreutils.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct OverlapTests {
    @Test func aHeldInputIsDoneLastWhileTheRestIsCommitted() throws {
        let dir = try scratchDirectory("overlap")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeInputDirectory(in: dir, "f", count: 5, elements: 1000)
        let held = input.appendingPathComponent("f2.npy")
        let fd = open(held.path, O_RDONLY)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let out = dir.appendingPathComponent("out")
        let run = try Spawned(Paths.binary, ["-v", "-o", out.path, input.path])
        // While the lock is held: the other four are committed, and the run is still waiting for f2.
        let others = poll(timeout: 30) {
            [0, 1, 3, 4].allSatisfy { FileManager.default.fileExists(atPath: out.appendingPathComponent("f\($0).npy.sha256").path) }
        }
        #expect(others, "the other inputs were not committed while one was held")
        usleep(300_000)
        #expect(run.process.isRunning, "the run did not wait for the held input")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("f2.npy").path))
        // Released: the run takes it and finishes.
        flock(fd, LOCK_UN)
        close(fd)
        let finished = poll(timeout: 30) { !run.process.isRunning }
        #expect(finished, "the run did not finish after the lock was released (deadlock?)")
        if !finished { kill(run.pid, SIGKILL) }
        let r = try run.wait()
        #expect(r.status == 0, "\(r.stderr)")
        for i in 0..<5 {
            #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent("f\(i).npy.sha256")))
        }
        // f2 was done last, after the others were reported.
        let lines = r.stderr.split(separator: "\n").filter { $0.contains(" -> ") }
        #expect(lines.last?.contains("f2.npy") == true, "\(lines)")
    }

    /// Two shards of one tree writing into the same output directories at the same moment: each run's sweep for
    /// leftovers must never take the other's fresh temporaries for abandoned ones (found by the Slurm test).
    @Test func twoShardsWritingIntoOneDirectoryNeverLoseATemporary() throws {
        let dir = try scratchDirectory("shards-sweep")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in")
        try python(
            """
            import os, sys, numpy as np
            import gzip, io
            os.makedirs(os.path.join(sys.argv[1], "b"), exist_ok=True)
            for i in range(240):
                d = sys.argv[1] if i % 4 else os.path.join(sys.argv[1], "b")
                a = np.arange(64, dtype=np.float32) + i
                if i % 2:
                    buf = io.BytesIO(); np.save(buf, a)
                    open(os.path.join(d, f"t{i:03}.npy.gz"), "wb").write(gzip.compress(buf.getvalue(), mtime=0))
                else:
                    np.save(os.path.join(d, f"t{i:03}.npy"), a)
            """, [input.path])
        // The window is a few microseconds wide. Before the fix, two shards run by a shell loop over the Slurm test's
        // tree lost a temporary in 3 of 30 runs; this test did not reproduce it reliably, it guards the behaviour.
        for round in 0..<24 {
            let out = dir.appendingPathComponent("out\(round)")
            // Both started by one shell, microseconds apart, as srun starts its tasks.
            let b = Paths.binary
            let r = try run("/bin/sh", ["-c",
                "'\(b)' --shard 1/2 -o '\(out.path)' '\(input.path)' & '\(b)' --shard 2/2 -o '\(out.path)' '\(input.path)'; s2=$?; wait $!; s1=$?; exit $((s1 + s2))"])
            #expect(r.status == 0, "round \(round): \(r.status) \(r.stderr)")
            let sidecars = (try? FileManager.default.subpathsOfDirectory(atPath: out.path))?
                .filter { $0.hasSuffix(".sha256") }.count ?? 0
            #expect(sidecars == 240, "round \(round): \(sidecars) outputs")
        }
    }
}

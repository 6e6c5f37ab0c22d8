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
        let input = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for i in 0..<5 { try makeNormalInput(input.appendingPathComponent("f\(i).npy"), elements: 1000, seed: i) }
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
}

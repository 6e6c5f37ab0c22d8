// Closed pipes and non-file inputs, with inputs larger than two chunks so the streamed reader is the path that meets
// them: a closed standard output under -c is a clean `broken pipe` error (exit 74, not death by SIGPIPE); a closed
// standard error never costs a batch; a FIFO streams like a file; an endless device fails fast with one line.
// Relies on the binary, bash (PIPESTATUS), mkfifo, numpy and coreutils.
import Foundation
import Testing

@Suite struct PipeAndDeviceTests {
    /// Runs `script` in bash in `dir`; returns what it wrote to the file `status`.
    func bash(_ script: String, in dir: URL) throws -> String {
        let r = try run("/bin/bash", ["-c", script], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        return (try? String(contentsOf: dir.appendingPathComponent("status"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    @Test func closedStandardOutputUnderStdoutIsABrokenPipeError() throws {
        let dir = try scratchDirectory("epipe")
        defer { try? FileManager.default.removeItem(at: dir) }
        try makeNormalInput(dir.appendingPathComponent("big.npy"), elements: 3 << 20)
        let status = try bash(
            "'\(Paths.binary)' -c big.npy 2>err | head -c 1 >/dev/null; echo ${PIPESTATUS[0]} >status", in: dir)
        #expect(status == "74", "exit \(status)")  // 141 would be death by SIGPIPE
        let err = try String(contentsOf: dir.appendingPathComponent("err"), encoding: .utf8)
        #expect(err == "npyexp: <stdout>: write error: broken pipe\n", "\(err)")
    }

    @Test func closedStandardErrorNeverCostsTheBatch() throws {
        let dir = try scratchDirectory("stderr-closed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeInputDirectory(in: dir, "f", count: 40)
        try makeNormalInput(input.appendingPathComponent("large.npy"), elements: 3 << 20, seed: 99)
        let status = try bash(
            "'\(Paths.binary)' -v -o out in 2>&1 >/dev/null | head -c 1 >/dev/null; echo ${PIPESTATUS[0]} >status",
            in: dir)
        #expect(status == "0", "exit \(status)")
        let out = dir.appendingPathComponent("out")
        for name in (0..<40).map({ "f\($0).npy" }) + ["large.npy"] {
            #expect(try coreutilsChecksumOK(sidecar: out.appendingPathComponent(name + ".sha256")), "\(name)")
        }
        #expect(try temporariesBelow(dir).isEmpty)
    }

    @Test func aFifoStreamsLikeAFileAndAnEndlessDeviceFailsFast() throws {
        let dir = try scratchDirectory("fifo")
        defer { try? FileManager.default.removeItem(at: dir) }
        try makeNormalInput(dir.appendingPathComponent("big.npy"), elements: 3 << 20)
        let status = try bash(
            "mkfifo p && (cat big.npy >p &) && '\(Paths.binary)' -o out p; echo $? >status", in: dir)
        #expect(status == "0")
        try python(
            """
            import sys, numpy as np
            x, y = np.load(sys.argv[1]), np.load(sys.argv[2])
            want = np.exp(x.astype(np.float64)).astype(np.float32)
            assert np.array_equal(y, want), "differs"
            """, [dir.appendingPathComponent("big.npy").path, dir.appendingPathComponent("out/p").path])
        #expect(try coreutilsChecksumOK(sidecar: dir.appendingPathComponent("out/p.sha256")))
        let zero = try npyexp(["-o", dir.appendingPathComponent("z").path, "/dev/zero"])
        #expect(zero.status == 1 && zero.stderr == "npyexp: /dev/zero: not an NPY file (bad magic)\n", "\(zero.stderr)")
        #expect(!zero.terminatedBySignal)
    }
}

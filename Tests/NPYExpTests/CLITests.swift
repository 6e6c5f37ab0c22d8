// The command-line contract (issue 2, item 8): naming, reruns, globs, standard streams, errors in a batch, exit
// statuses, atomic outputs, bounded memory. Every test runs the real binary in a scratch directory.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Copies fixtures (relative to `source`, fixtures/data by default) into a scratch directory (inputs are never
/// modified in place by the tests).
func copyFixtures(_ names: [String], from source: URL = Paths.data, to dir: URL) throws {
    for name in names {
        let src = source.appendingPathComponent(name)
        let dst = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dst.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: src, to: dst)
    }
}

func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

@Suite struct CLITests {
    @Test func besideInputNamingAndRerunNeverComputesExpOfExp() throws {
        let dir = try scratchDirectory("beside")
        defer { try? FileManager.default.removeItem(at: dir) }
        try copyFixtures(["normal_f32.npy.gz", "uint8.npy"], to: dir)
        let first = try npyexp([dir.path])
        #expect(first.status == 0, "\(first.stderr)")
        // A successful run prints nothing but, here, the one warning that uint8's 255 overflowed float32.
        #expect(first.stderr.hasPrefix("npyexp: warning: ") && first.stderr.split(separator: "\n").count == 1, "\(first.stderr)")
        let after = listFiles(dir)
        #expect(after == [
            "normal_f32.exp.npy.gz", "normal_f32.exp.npy.gz.sha256", "normal_f32.npy.gz",
            "uint8.exp.npy", "uint8.exp.npy.sha256", "uint8.npy",
        ])
        let output = dir.appendingPathComponent("normal_f32.exp.npy.gz")
        let before = try bytes(output)
        let mtime = try FileManager.default.attributesOfItem(atPath: output.path)[.modificationDate] as! Date
        // Same command again: the outputs are complete, so nothing is redone and no NAME.exp.exp.npy appears.
        let second = try npyexp(["-v", dir.path])
        #expect(second.status == 0)
        #expect(second.stderr.contains("skipped"))
        #expect(listFiles(dir) == after)
        let mtime2 = try FileManager.default.attributesOfItem(atPath: output.path)[.modificationDate] as! Date
        #expect(mtime == mtime2)
        // --force redoes it, byte-identically (no name, mtime 0 in the gzip header).
        let third = try npyexp(["-f", dir.path])
        #expect(third.status == 0)
        #expect(try bytes(output) == before)
    }

    @Test func damagedOutputIsRedone() throws {
        let dir = try scratchDirectory("damaged")
        defer { try? FileManager.default.removeItem(at: dir) }
        try copyFixtures(["specials_f32.npy"], to: dir)
        #expect(try npyexp([dir.path]).status == 0)
        let out = dir.appendingPathComponent("specials_f32.exp.npy")
        let good = try bytes(out)
        var bad = good
        bad[bad.count - 1] ^= 0xff
        try bad.write(to: out)
        #expect(try npyexp([dir.path]).status == 0)
        #expect(try bytes(out) == good)
    }

    @Test func globsExpandWithDoubleStarAndKeepRelativePaths() throws {
        let out = try scratchDirectory("glob")
        defer { try? FileManager.default.removeItem(at: out) }
        let pattern = Paths.data.path + "/**/*.npy.gz"
        let r = try npyexp(["-o", out.path, pattern])
        #expect(r.status == 0, "\(r.stderr)")
        let expected = listFiles(Paths.data).filter { $0.hasSuffix(".npy.gz") }
        #expect(listFiles(out).filter { !$0.hasSuffix(".sha256") } == expected)
        // A single-level glob below the base keeps the directory part of the match.
        let out2 = try scratchDirectory("glob2")
        defer { try? FileManager.default.removeItem(at: out2) }
        let r2 = try npyexp(["-o", out2.path, Paths.data.path + "/ne?ted/*_f16.npy.gz"])
        #expect(r2.status == 0, "\(r2.stderr)")
        #expect(listFiles(out2) == ["nested/half_f16.npy.gz", "nested/half_f16.npy.gz.sha256"])
    }

    @Test func patternMatchingNothingIsAnError() throws {
        let out = try scratchDirectory("nomatch")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try npyexp(["-o", out.path, Paths.data.path + "/*.nothing"])
        #expect(r.status == 66)
        #expect(r.stderr.hasPrefix("npyexp: "))
        #expect(r.stderr.contains("no files match"))
        let r2 = try npyexp(["-o", out.path, "/nonexistent/file.npy"])
        #expect(r2.status == 66)
        #expect(r2.stderr.contains("/nonexistent/file.npy: no such file or directory"))
    }

    @Test func badInputsFailAloneWithOneLineErrors() throws {
        let dir = try scratchDirectory("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try copyFixtures(["normal_f32.npy.gz", "uint8.npy"], to: dir)
        let good = try bytes(dir.appendingPathComponent("normal_f32.npy.gz"))
        try good.prefix(good.count / 2).write(to: dir.appendingPathComponent("a_truncated.npy.gz"))
        try Data("this is not a tensor".utf8).write(to: dir.appendingPathComponent("b_text.npy"))
        let plain = try bytes(dir.appendingPathComponent("uint8.npy"))
        try plain.dropLast(3).write(to: dir.appendingPathComponent("c_short.npy"))
        try (plain + Data([1, 2, 3])).write(to: dir.appendingPathComponent("d_long.npy"))
        let out = try scratchDirectory("bad-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try npyexp(["-o", out.path, dir.path])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("npyexp: warning: ") }
        #expect(lines.count == 4, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("npyexp: \(dir.path)/a_truncated.npy.gz: ") && $0.contains("truncated gzip stream") })
        #expect(lines.contains { $0.hasPrefix("npyexp: \(dir.path)/b_text.npy: ") && $0.contains("not an NPY file") })
        #expect(lines.contains { $0.contains("c_short.npy: data shorter than the shape") })
        #expect(lines.contains { $0.contains("d_long.npy: 3 unexpected bytes after the array data") })
        // The good inputs were done; nothing at all (not even a temporary) exists for the bad ones.
        #expect(listFiles(out) == [
            "normal_f32.npy.gz", "normal_f32.npy.gz.sha256", "uint8.npy", "uint8.npy.sha256",
        ])
        let hidden = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty)
        // Inputs untouched.
        #expect(try bytes(dir.appendingPathComponent("normal_f32.npy.gz")) == good)
    }

    @Test func standardInputToStandardOutput() throws {
        let input = try bytes(Paths.data.appendingPathComponent("normal_f32.npy.gz"))
        let r = try npyexp(["-c", "-"], input: input)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.prefix(2) == Data([0x1f, 0x8b]))
        // Same bytes as the file route writes.
        let dir = try scratchDirectory("stdio")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try npyexp(["-o", dir.path, Paths.data.appendingPathComponent("normal_f32.npy.gz").path]).status == 0)
        #expect(try bytes(dir.appendingPathComponent("normal_f32.npy.gz")) == r.stdout)
        // --no-gzip gives plain .npy on stdout.
        let plain = try npyexp(["-c", "--no-gzip", "-"], input: input)
        #expect(plain.stdout.prefix(6) == Data([0x93] + Array("NUMPY".utf8)))
    }

    @Test func containerAndDtypeOptions() throws {
        let out = try scratchDirectory("opts")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try npyexp(["-o", out.path, "--gzip", "--dtype", "float64", Paths.data.appendingPathComponent("uint8.npy").path])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try loadNPY(out.appendingPathComponent("uint8.npy.gz"))
        #expect(a.header.dtype == .float64)
        // exp of the uint8 values computed in float64 within 1 ulp of the long-double reference.
        let ref = try loadNPY(Paths.expected.appendingPathComponent("uint8.npy"))  // float32 reference
        let refValues = ref.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let values = a.data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        for (v, r) in zip(values, refValues) { #expect(ulpDistance(Float(v), r) <= 1) }
        let bad = try npyexp(["-o", out.path, "--dtype", "float32", Paths.data.appendingPathComponent("nested/complex64.npy.gz").path])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("complex inputs keep their dtype"))
        let usage = try npyexp(["-l", "12", "x.npy"])
        #expect(usage.status == 64)
    }

    @Test func smallChunksGiveTheSameBytes() throws {
        // A 3 MiB float64 tensor through 4 KiB chunks and 8 KiB gzip blocks must equal the default run's payload.
        let dir = try scratchDirectory("chunks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = """
            import numpy as np, sys
            rng = np.random.default_rng(7)
            np.save(sys.argv[1], rng.uniform(-50, 50, size=(384, 1024)))
            """
        #expect(try run("/usr/bin/env", ["python3", "-c", script, dir.appendingPathComponent("x.npy").path]).status == 0)
        #expect(try npyexp(["--gzip", "-o", dir.appendingPathComponent("a").path, dir.appendingPathComponent("x.npy").path]).status == 0)
        let a = try loadNPY(dir.appendingPathComponent("a/x.npy.gz"))
        let b = try libraryRun(input: dir.appendingPathComponent("x.npy").path, chunkBytes: 4096, blockSize: 8192, jobs: 3)
        #expect(a.data == b.data)
        #expect(a.headerBytes == b.headerBytes)
    }

    @Test func memoryStaysBoundedOnALargeTensor() throws {
        // 512 MiB of float32 zeros as one gzip member (another tool's gzip: serial inflate on the read-ahead thread),
        // to a block-framed .npy.gz: exp must stream it with far less memory than the tensor, and every one of the
        // 2^27 outputs must be exp(0) = 1 (checked by Python's gzip, chunk by chunk).
        let dir = try scratchDirectory("large")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("zeros.npy.gz").path
        let script = """
            import gzip, io, numpy as np, sys
            n = 128 * 1024 * 1024
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (n,)})
            zeros = bytes(16 << 20)
            with gzip.open(sys.argv[1], "wb", compresslevel=1) as f:
                f.write(header.getvalue())
                for _ in range(4 * n // len(zeros)):
                    f.write(zeros)
            """
        #expect(try run("/usr/bin/env", ["python3", "-c", script, path]).status == 0)
        let r = try run("/usr/bin/time", ["-f", "%M", Paths.binary, "-o", dir.appendingPathComponent("out").path, path])
        #expect(r.status == 0, "\(r.stderr)")
        let kib = Int(r.stderr.split(separator: "\n").last ?? "") ?? .max
        #expect(kib < 96 * 1024, "peak RSS \(kib) KiB for a 512 MiB tensor")
        _ = try python(
            """
            import gzip, sys, numpy as np
            with gzip.open(sys.argv[1], "rb") as f:
                version = np.lib.format.read_magic(f)
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                assert shape == (128 * 1024 * 1024,) and dtype == np.float32, (shape, dtype)
                ones, seen = np.ones(1 << 22, np.float32).tobytes(), 0
                while chunk := f.read(len(ones)):
                    assert chunk == ones[:len(chunk)], f"a value other than 1.0 after {seen} bytes"
                    seen += len(chunk)
                assert seen == 4 * shape[0], seen
            """, [dir.appendingPathComponent("out/zeros.npy.gz").path])
    }

    @Test func blockFramedOutputsReadInParallelLikeAnyGzip() throws {
        // Stage 1 writes a block-framed gzip; stage 2 reads it (parallel inflate) and the same payload as one
        // single-member gzip made by gzip(1) (serial inflate): the results must be byte-identical.
        let dir = try scratchDirectory("chain")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = """
            import numpy as np, sys
            np.save(sys.argv[1], np.random.default_rng(11).uniform(-3, 3, size=(3, 300000)).astype(np.float32))
            """
        #expect(try run("/usr/bin/env", ["python3", "-c", script, dir.appendingPathComponent("x.npy").path]).status == 0)
        #expect(try npyexp(["--gzip", "-o", dir.appendingPathComponent("s1").path, dir.appendingPathComponent("x.npy").path]).status == 0)
        let blocks = dir.appendingPathComponent("s1/x.npy.gz")
        let single = dir.appendingPathComponent("single/x.npy.gz")
        try FileManager.default.createDirectory(at: single.deletingLastPathComponent(), withIntermediateDirectories: true)
        let plain = try run("/usr/bin/env", ["gzip", "-dc", blocks.path])
        #expect(plain.status == 0)
        let gz = try run("/usr/bin/env", ["gzip", "-c", "-n"], input: plain.stdout)
        try gz.stdout.write(to: single)
        let a = try npyexp(["-c", blocks.path])
        let b = try npyexp(["-c", single.path])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        #expect(a.stdout == b.stdout)
        #expect(a.stdout.count > 1_000_000)
        // Damage is still named precisely on the parallel path.
        let bytes = try Data(contentsOf: blocks)
        try (bytes + Data("junk".utf8)).write(to: dir.appendingPathComponent("garbage.npy.gz"))
        try bytes.prefix(bytes.count - 100_000).write(to: dir.appendingPathComponent("cut.npy.gz"))
        var flipped = bytes
        flipped[flipped.count / 2] ^= 0x55
        try flipped.write(to: dir.appendingPathComponent("flipped.npy.gz"))
        let g = try npyexp(["-c", dir.appendingPathComponent("garbage.npy.gz").path])
        #expect(g.status == 1 && g.stderr.contains("trailing garbage"), "\(g.stderr)")
        let c = try npyexp(["-c", dir.appendingPathComponent("cut.npy.gz").path])
        #expect(c.status == 1 && c.stderr.contains("truncated gzip stream"), "\(c.stderr)")
        let f = try npyexp(["-c", dir.appendingPathComponent("flipped.npy.gz").path])
        #expect(f.status == 1 && (f.stderr.contains("corrupt deflate data") || f.stderr.contains("CRC32 mismatch")), "\(f.stderr)")
    }
}

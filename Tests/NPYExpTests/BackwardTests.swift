// `npyexp backward`: grad * exp(x) against numpy's own product of the same arrays (bit-exact where both round one
// IEEE multiply), streamed in lockstep across chunks, with clear errors on mismatched pairs.
import Foundation
import Testing

@Suite struct BackwardTests {
    /// Makes result/grad pairs with numpy and writes numpy's g * y (g * conj(y) for complex) as the reference.
    func makePairs(_ dir: URL) throws {
        try python(
            """
            import gzip, sys, os
            import numpy as np
            d = sys.argv[1]
            rng = np.random.default_rng(5)
            def save(name, a, gz=False):
                p = os.path.join(d, name)
                if gz:
                    with gzip.open(p, "wb") as f: np.save(f, a)
                else:
                    np.save(p, a)
            # float32 spanning several 4 MiB chunks, result plain, gradient gzip.
            x = rng.uniform(-20, 20, size=(3, 700_000)).astype(np.float32)
            y, g = np.exp(x), rng.standard_normal(x.shape).astype(np.float32)
            save("y32.npy", y); save("g32.npy.gz", g, True); np.save(os.path.join(d, "ref32.npy"), g * y)
            # float16, and float64 with a big-endian result.
            x = rng.uniform(-8, 8, size=(50, 7)).astype(np.float16)
            y, g = np.exp(x), rng.standard_normal(x.shape).astype(np.float16)
            save("y16.npy", y); save("g16.npy", g); np.save(os.path.join(d, "ref16.npy"), g * y)
            x = rng.uniform(-700, 700, size=(1000,))
            y, g = np.exp(x), rng.standard_normal(x.shape)
            save("y64.npy", y.astype(">f8")); save("g64.npy", g); np.save(os.path.join(d, "ref64.npy"), g * y)
            # complex64: grad * conj(result).
            z = (rng.standard_normal(999) + 1j * rng.uniform(-5, 5, 999)).astype(np.complex64)
            y, g = np.exp(z), (rng.standard_normal(999) + 1j * rng.standard_normal(999)).astype(np.complex64)
            save("yc.npy", y); save("gc.npy", g); np.save(os.path.join(d, "refc.npy"), g * np.conj(y))
            # mismatches
            save("a34.npy", np.ones((3, 4), np.float32)); save("b43.npy", np.ones((4, 3), np.float32))
            save("b34f64.npy", np.ones((3, 4), np.float64)); save("i34.npy", np.ones((3, 4), np.int32))
            """, [dir.path])
    }

    @Test func productsMatchNumpy() throws {
        let dir = try scratchDirectory("backward")
        defer { try? FileManager.default.removeItem(at: dir) }
        try makePairs(dir)
        let out = dir.appendingPathComponent("out")
        let p = { (name: String) in dir.appendingPathComponent(name).path }
        let r = try npyexp([
            "backward", "-o", out.path, p("y32.npy"), p("g32.npy.gz"), p("y16.npy"), p("g16.npy"),
            p("y64.npy"), p("g64.npy"), p("yc.npy"), p("gc.npy"),
        ])
        #expect(r.status == 0, "\(r.stderr)")
        for (name, ref, exact) in [
            ("g32.npy.gz", "ref32.npy", true), ("g16.npy", "ref16.npy", true), ("g64.npy", "ref64.npy", true),
            ("gc.npy", "refc.npy", false),
        ] {
            let a = try loadNPY(out.appendingPathComponent(name))
            let b = try loadNPY(dir.appendingPathComponent(ref))
            #expect(a.headerBytes == b.headerBytes, "\(name): header")
            if exact {
                #expect(a.data == b.data, "\(name): not bit-identical to numpy")
            } else {
                // Complex: each component may cancel (ac + bd), so bound the error by the operands' magnitude:
                // |out - exact| <= 4 * 2^-24 * |g| * |y|, with the exact product taken in complex128.
                let verdict = try python(
                    """
                    import sys, numpy as np
                    d = sys.argv[1]
                    out = np.load(sys.argv[2]).astype(np.complex128)
                    y = np.load(d + "/yc.npy").astype(np.complex128)
                    g = np.load(d + "/gc.npy").astype(np.complex128)
                    exact = g * np.conj(y)
                    bound = 4 * 2.0**-24 * np.abs(g) * np.abs(y)
                    bad = (np.abs(out.real - exact.real) > bound) | (np.abs(out.imag - exact.imag) > bound)
                    print(int(bad.sum()))
                    """, [dir.path, out.appendingPathComponent(name).path])
                #expect(verdict.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(name): \(verdict)")
            }
            let sidecar = out.appendingPathComponent(name + ".sha256")
            let check = try run("/usr/bin/sha256sum", ["-c", sidecar.lastPathComponent], in: out)
            #expect(check.status == 0)
        }
        // Beside the gradient without -o: NAME.backward.npy.gz.
        let beside = try npyexp(["backward", p("y32.npy"), p("g32.npy.gz")])
        #expect(beside.status == 0)
        #expect(FileManager.default.fileExists(atPath: p("g32.backward.npy.gz")))
    }

    @Test func mismatchedPairsAreRefusedClearly() throws {
        let dir = try scratchDirectory("backward-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try makePairs(dir)
        let p = { (name: String) in dir.appendingPathComponent(name).path }
        let out = dir.appendingPathComponent("out").path
        let shape = try npyexp(["backward", "-o", out, p("a34.npy"), p("b43.npy")])
        #expect(shape.status == 1)
        #expect(shape.stderr.contains("b43.npy: shape mismatch: result (3, 4), gradient (4, 3)"), "\(shape.stderr)")
        let dtype = try npyexp(["backward", "-o", out, p("a34.npy"), p("b34f64.npy")])
        #expect(dtype.stderr.contains("dtype mismatch: result float32, gradient float64"), "\(dtype.stderr)")
        let ints = try npyexp(["backward", "-o", out, p("i34.npy"), p("a34.npy")])
        #expect(ints.stderr.contains("result must be a float or complex array"), "\(ints.stderr)")
        let odd = try npyexp(["backward", p("a34.npy")])
        #expect(odd.status == 64)
        #expect(!FileManager.default.fileExists(atPath: out + "/b43.npy"))
    }
}

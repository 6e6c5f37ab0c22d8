// --dtype end to end: float64 inputs narrowed to float32 and float16 (torch's rule: the input is converted to the
// output dtype first, then exp is taken in it), and float32 and int16 inputs widened to float64, each checked by numpy
// against exp in long double (x87, 64-bit significand): narrow results correctly rounded (within 0.5 ulp, plus the
// reference's own 2^-20 ulp slack), float64 within the README's 0.52 ulp; NaN, infinities and zeros by class,
// subnormal results counted on their own grid. Relies on the binary and python3 with numpy.
import Foundation
import Testing

@Suite struct DtypeTests {
    /// The inputs: seeded values covering every result class of the narrowest target (float16 subnormals below
    /// exp(-14 ln 2), overflow above ~11.09), wider spreads for float32/float64, values just off float16 rounding
    /// midpoints, and the specials.
    static let makeInputs = """
        import sys, numpy as np
        rng = np.random.default_rng(99)
        # Just off float16 rounding midpoints: a conversion that rounds through float32 first lands on the midpoint
        # and rounds to even, the wrong way for half of these (a double rounding that random values rarely meet).
        h = rng.uniform(-20, 11, 2000).astype(np.float16)
        mid = (h.astype(np.float64) + np.nextafter(h, np.float16(np.inf)).astype(np.float64)) / 2
        x = np.concatenate([rng.uniform(-25, 13, 4000), rng.normal(0, 30, 4000),
                            mid + np.abs(mid) * 2.0 ** -40, mid - np.abs(mid) * 2.0 ** -40,
                            [0.0, -0.0, np.inf, -np.inf, np.nan, 88.72, 88.73, -103.9, -745.2, 709.78, 709.79]])
        np.save(sys.argv[1] + "/f64.npy", x)
        np.save(sys.argv[1] + "/f32.npy", x.astype(np.float32))
        np.save(sys.argv[1] + "/i16.npy", np.clip(np.nan_to_num(x), -700, 700).astype(np.int16))
        """

    /// Compares OUT with exp of IN converted to DTYPE, in long double.
    static let check = """
        import sys, numpy as np
        x, y, name = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
        out = np.dtype(name)
        assert y.dtype == out and y.shape == x.shape, (y.dtype, y.shape)
        xs = x.astype(out)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            ref = np.exp(xs.astype(np.longdouble))
            classes = ref.astype(out)
        info = np.finfo(out)
        bad = (np.isnan(y) != np.isnan(classes)) | (np.isinf(y) != np.isinf(classes))
        finite = np.isfinite(y) & np.isfinite(classes)
        spacing = np.maximum(np.abs(ref[finite]), np.longdouble(info.smallest_normal)) * np.longdouble(info.eps)
        err = np.abs(y[finite].astype(np.longdouble) - ref[finite]) / spacing
        bound = 0.52 if out == np.float64 else 0.5 + 2.0 ** -20
        worst = float(err.max()) if err.size else 0.0
        assert not bad.any(), f"class mismatch at {np.flatnonzero(bad)[:5]}"
        assert worst <= bound, f"{name}: {worst} ulp (bound {bound})"
        print(f"{name}: {finite.sum()} finite results, worst {worst:.4f} ulp")
        """

    @Test(arguments: [("f64.npy", "float32"), ("f64.npy", "float16"), ("f32.npy", "float64"), ("i16.npy", "float64"),
                      ("f64.npy", "float64")])
    func dtypeConvertsFirstAndRoundsCorrectly(_ input: String, _ dtype: String) throws {
        let dir = try scratchDirectory("dtype")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try python(Self.makeInputs, [dir.path])
        let r = try npyexp(["-c", "--no-gzip", "--dtype", dtype, dir.appendingPathComponent(input).path])
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.appendingPathComponent("out.npy")
        try r.stdout.write(to: out)
        _ = try python(Self.check, [dir.appendingPathComponent(input).path, out.path, dtype])
    }
}

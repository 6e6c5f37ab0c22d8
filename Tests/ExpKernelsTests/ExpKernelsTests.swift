// Accuracy and behaviour tests of ExpKernels, run on every code path this CPU supports (each call names its path).
// References are independent of the kernels: libm expl in long double rounded once (npyexp_ref_*, Tools/CExpReference),
// mpmath for the rare cases expl cannot decide, and numpy (python3 subprocess) for complex specials and gradients.
import CExpKernels
import CExpReference
import Foundation
import Testing
import ToolSupport
@testable import ExpKernels

let paths = ExpKernels.availablePaths

// MARK: - generic accuracy check over the real float types

/// A real element type under test: how to run the kernel and how to get the reference and ulp error.
protocol ExpUnderTest {
    associatedtype Bits: FixedWidthInteger & Sendable
    static var name: String { get }
    /// Allowed error in ulps of the result (0.5 = correctly rounded: checked by exact equality instead).
    static var tolerance: Double { get }
    static func kernel(_ x: [Bits], _ path: ExpKernels.Path) -> [Bits]
    /// (reference bits, ambiguous, error in ulps of `got`)
    static func reference(_ x: Bits, got: Bits) -> (Bits, Bool, Double)
    static func isNaN(_ b: Bits) -> Bool
    /// The format's name for `mpmathCorrectlyRounded` (close calls that expl cannot decide).
    static var mpmathFormat: String { get }
}

enum F32: ExpUnderTest {
    static let name = "float32"
    static let tolerance = 0.5
    static func kernel(_ x: [UInt32], _ path: ExpKernels.Path) -> [UInt32] {
        let xf = x.map { Float(bitPattern: $0) }
        var y = [Float](repeating: 0, count: xf.count)
        xf.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ExpKernels.exp(xb, into: $0, path: path) } }
        return y.map(\.bitPattern)
    }
    static func reference(_ x: UInt32, got: UInt32) -> (UInt32, Bool, Double) {
        var amb: Int32 = 0
        var err = 0.0
        let r = npyexp_ref_expf(Float(bitPattern: x), &amb, Float(bitPattern: got), &err)
        return (r.bitPattern, amb != 0, err)
    }
    static func isNaN(_ b: UInt32) -> Bool { Float(bitPattern: b).isNaN }
    static let mpmathFormat = "f32"
}

enum F16: ExpUnderTest {
    static let name = "float16"
    static let tolerance = 0.5
    static func kernel(_ x: [UInt16], _ path: ExpKernels.Path) -> [UInt16] {
        var y = [UInt16](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ExpKernels.exp(half: xb, into: $0, path: path) } }
        return y
    }
    static func reference(_ x: UInt16, got: UInt16) -> (UInt16, Bool, Double) {
        var amb: Int32 = 0
        let r = npyexp_ref_exph(x, &amb)
        return (r, amb != 0, 0)
    }
    static func isNaN(_ b: UInt16) -> Bool { b & 0x7c00 == 0x7c00 && b & 0x3ff != 0 }
    static let mpmathFormat = "f16"
}

enum F64: ExpUnderTest {
    static let name = "float64"
    static let tolerance = 0.52
    static func kernel(_ x: [UInt64], _ path: ExpKernels.Path) -> [UInt64] {
        let xd = x.map { Double(bitPattern: $0) }
        var y = [Double](repeating: 0, count: xd.count)
        xd.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ExpKernels.exp(xb, into: $0, path: path) } }
        return y.map(\.bitPattern)
    }
    static func reference(_ x: UInt64, got: UInt64) -> (UInt64, Bool, Double) {
        var err = 0.0
        let r = npyexp_ref_exp(Double(bitPattern: x), Double(bitPattern: got), &err)
        return (r.bitPattern, false, err)
    }
    static func isNaN(_ b: UInt64) -> Bool { Double(bitPattern: b).isNaN }
    static let mpmathFormat = "f64"
}

struct Outcome {
    var checked = 0, wrong = 0, maxErr = 0.0, examples: [String] = []
    /// Inputs expl could not decide (within 16 long double ulps of a midpoint), each then resolved by mpmath.
    var closeCalls = 0
    /// Close calls left undecided because python3 with mpmath is missing: a failure, never a skip.
    var unresolved = 0
}

func check<T: ExpUnderTest>(_ t: T.Type, _ inputs: [T.Bits], _ path: ExpKernels.Path) -> Outcome {
    let got = T.kernel(inputs, path)
    var o = Outcome()
    var close: [(x: T.Bits, y: T.Bits)] = []
    for (x, y) in zip(inputs, got) {
        let (r, amb, err) = T.reference(x, got: y)
        o.checked += 1
        if amb { close.append((x, y)); continue }
        o.maxErr = max(o.maxErr, err)
        let ok: Bool
        if T.isNaN(r) { ok = T.isNaN(y) }
        else if T.tolerance == 0.5 { ok = r == y }              // correctly rounded: bit-exact
        else { ok = err <= T.tolerance || r == y }              // err is measured against the unrounded expl value
        if !ok {
            o.wrong += 1
            if o.examples.count < 5 { o.examples.append("\(T.name) x=0x\(String(x, radix: 16)) got 0x\(String(y, radix: 16)) ref 0x\(String(r, radix: 16)) err \(err)") }
        }
    }
    o.closeCalls = close.count
    guard !close.isEmpty else { return o }
    guard let exact = mpmathCorrectlyRounded(close.map { UInt64($0.x) }, format: T.mpmathFormat) else {
        o.unresolved = close.count
        return o
    }
    for (c, r) in zip(close, exact) where UInt64(c.y) != r {
        o.wrong += 1
        o.examples.append("\(T.name) close call x=0x\(String(c.x, radix: 16)) got 0x\(String(c.y, radix: 16)) mpmath 0x\(String(r, radix: 16))")
    }
    return o
}

/// Correctly rounded exp of the given bit patterns by mpmath at 300 bits (python3), as bit patterns of `format`
/// ("f16", "f32", "f64"); nil when python3 or mpmath is missing.
func mpmathCorrectlyRounded(_ bits: [UInt64], format: String) -> [UInt64]? {
    let script = """
    import mpmath, struct
    mpmath.mp.prec = 300
    p, emin, w = {'f16': (11, -14, 16), 'f32': (24, -126, 32), 'f64': (53, -1022, 64)}['\(format)']
    def decode(b):
        if w == 16:
            s, e, m = b >> 15, (b >> 10) & 31, b & 1023
            v = mpmath.ldexp(m, -24) if e == 0 else mpmath.ldexp(m + 1024, e - 25)
            return -v if s else v
        return mpmath.mpf(struct.unpack('<f' if w == 32 else '<d', struct.pack('<I' if w == 32 else '<Q', b))[0])
    def encode(v):  # v = n * 2^q exactly, n < 2^p; to bits
        if w == 16:
            if v == 0: return 0
            e = int(mpmath.floor(mpmath.log(v, 2)))
            if e < -14: return int(v * 2**24)
            return ((e + 15) << 10) | (int(v / mpmath.mpf(2)**(e - 10)) - 1024)
        f = float(v)
        return struct.unpack('<I', struct.pack('<f', f))[0] if w == 32 else struct.unpack('<Q', struct.pack('<d', f))[0]
    out = []
    for b in [\(bits.map(String.init).joined(separator: ","))]:
        v = mpmath.exp(decode(b))
        e = int(mpmath.floor(mpmath.log(v, 2)))
        q = max(e - p + 1, emin - p + 1)
        t = v / mpmath.mpf(2)**q
        n = int(mpmath.floor(t))
        frac = t - n
        if frac > 0.5 or (frac == 0.5 and n % 2 == 1): n += 1
        out.append(encode(mpmath.mpf(n) * mpmath.mpf(2)**q))
    print(' '.join(map(str, out)))
    """
    guard let text = python(script) else { return nil }
    let values = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64(String($0)) }
    return values.count == bits.count ? values : nil
}

/// The float32 inputs whose exp lies within 2^-19 ulp of a rounding midpoint (bench/float32-hard-cases.txt, made by
/// a full `exp-accuracy float32 --write-hard-cases` run): the hardest to round, checked on every path.
func float32HardCases() -> [UInt32] {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../bench/float32-hard-cases.txt").standardized
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line in
        guard line.hasPrefix("0x"), let word = line.split(separator: " ").first else { return nil }
        return UInt32(word.dropFirst(2), radix: 16)
    }
}

@Test(arguments: paths)
func float32StridedSampleIsCorrectlyRounded(path: ExpKernels.Path) {
    var xs: [UInt32] = []
    var b: UInt64 = 0
    while b < (1 << 32) { xs.append(UInt32(b)); b += 4099 }
    // boundaries: overflow threshold, subnormal range edges, underflow to zero, 0, 1, specials
    for c: Float in [88.72283, 88.7228394, -87.33654, -103.27893, -103.972076, -104, 0, -0.0, 1, -1,
                     .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                     .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 0x1p-25, -0x1p-25, 0x1p-24] {
        var u = c, d = c
        xs.append(c.bitPattern)
        for _ in 0..<200 where c.isFinite { u = u.nextUp; d = d.nextDown; xs.append(u.bitPattern); xs.append(d.bitPattern) }
    }
    let hard = float32HardCases()
    #expect(hard.count > 1000, "bench/float32-hard-cases.txt missing or short")
    xs += hard
    let o = check(F32.self, xs, path)
    #expect(o.checked == xs.count)
    #expect(o.wrong == 0, "\(o.examples)")
    #expect(o.unresolved == 0, "\(o.unresolved) close calls unresolved: python3 with mpmath is needed")
    #expect(o.maxErr <= 0.5 + 1e-9)
}

@Test(arguments: paths)
func float16AllInputsAreCorrectlyRounded(path: ExpKernels.Path) {
    let xs = (0..<65536).map { UInt16($0) }
    let o = check(F16.self, xs, path)
    #expect(o.checked == 65536)
    #expect(o.wrong == 0, "\(o.examples)")
    #expect(o.unresolved == 0, "\(o.unresolved) close calls unresolved: python3 with mpmath is needed")
}

@Test(arguments: paths)
func float64RandomAndBoundariesWithinTolerance(path: ExpKernels.Path) {
    var g = SeededGenerator(seed: 20261128)
    var xs: [UInt64] = (0..<600_000).map { _ in Double.random(in: -746...710, using: &g).bitPattern }
    xs += (0..<200_000).map { _ in
        var d: Double
        repeat { d = Double(bitPattern: g.next()) } while !d.isFinite
        return d.bitPattern
    }
    xs += (0..<200_000).map { _ in Double.random(in: -1...1, using: &g).bitPattern }
    for c in [709.782712893384, -708.3964185322641, -745.1332191019411, -744.44007192138, 708.0, -708.0, 0.0, 1e-300] {
        var u = c, d = c
        for _ in 0..<2000 { u = u.nextUp; d = d.nextDown; xs.append(u.bitPattern); xs.append(d.bitPattern) }
    }
    for s in [0.0, -0.0, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
              .leastNonzeroMagnitude, .leastNormalMagnitude] as [Double] { xs.append(s.bitPattern) }
    let o = check(F64.self, xs, path)
    #expect(o.wrong == 0, "\(o.examples)")
    #expect(o.maxErr < 0.52)
}

@Test(arguments: paths)
func specialsPerDtype(path: ExpKernels.Path) {
    let xf: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 100, -200]
    #expect(F32.kernel(xf.map(\.bitPattern), path).map { Float(bitPattern: $0) }.description
            == "[nan, inf, 0.0, 1.0, 1.0, inf, 0.0]")
    let xd: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 710, -746]
    #expect(F64.kernel(xd.map(\.bitPattern), path).map { Double(bitPattern: $0) }.description
            == "[nan, inf, 0.0, 1.0, 1.0, inf, 0.0]")
    // half: nan, +inf, -inf, 0, -0, 12.0 (overflows 65504), -18.0 (below half of the least subnormal)
    #expect(F16.kernel([0x7e00, 0x7c00, 0xfc00, 0, 0x8000, 0x4a00, 0xcc80], path).map { $0 & 0x7e00 == 0x7e00 ? 0x7e00 : $0 }
            == [0x7e00, 0x7c00, 0, 0x3c00, 0x3c00, 0x7c00, 0])
}

@Test(arguments: paths)
func inPlaceAndOddLengthsMatchOutOfPlace(path: ExpKernels.Path) {
    for n in [0, 1, 7, 9, 17, 33, 1001] {
        let x = (0..<n).map { Float($0) * 0.37 - 150 }
        var y = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ExpKernels.exp(xb, into: $0, path: path) } }
        var z = x
        z.withUnsafeMutableBufferPointer { zb in ExpKernels.exp(UnsafeBufferPointer(zb), into: zb, path: path) }
        #expect(y.map(\.bitPattern) == z.map(\.bitPattern))
        // Most of these inputs are below -87.33 (subnormal results and zeros, the vector slow path f32_slow, and its
        // scalar fallback near midpoints): compared with the long double reference, not with that fallback.
        let o = check(F32.self, x.map(\.bitPattern), path)
        #expect(o.wrong == 0 && o.unresolved == 0, "n=\(n): \(o.examples)")
    }
}

@Test func dispatchReportsBaselineAndADefaultItSupports() {
    #expect(paths.first == .baseline)
    #expect(paths.contains(ExpKernels.defaultPath))
    #if arch(x86_64)
    // The avx512 path is compiled in; it is offered only when the CPU has AVX-512 F/DQ/VL/BW.
    let hasAVX512 = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains("avx512bw") ?? false
    #expect(paths.contains(.avx512) == hasAVX512)
    #endif
}

// MARK: - numpy comparisons (complex specials, finite complex values, gradients)

/// Runs a python3 script; nil when python3 or numpy is missing (the caller records the skip).
func python(_ script: String) -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-"]   // script on stdin: it can exceed the kernel's per-argument size limit
    let out = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardInput = inp
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    inp.fileHandleForWriting.write(script.data(using: .utf8)!)
    try? inp.fileHandleForWriting.close()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    return String(data: data, encoding: .utf8)
}

let numpyAvailable = python("import numpy") != nil

let specialParts: [Double] = [0, -0.0, 1, -1, 3, -2, .infinity, -.infinity, .nan, 800, -800]

/// Signs and classes must agree; finite values within `ulps` relative.
/// `tiny` is the format's least subnormal: below the normal range the error is counted in absolute quanta.
func sameComplexPart(_ a: Double, _ b: Double, ulps: Double, ulp: Double, tiny: Double) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a.isInfinite || b.isInfinite { return a == b }
    if a == 0 && b == 0 { return a.sign == b.sign }
    return abs(a - b) <= ulps * max(ulp * max(abs(a), abs(b)), tiny)
}

@Test(.enabled(if: numpyAvailable, "python3 with numpy is not installed"), arguments: paths)
func complexSpecialsAndValuesMatchNumpy(path: ExpKernels.Path) throws {
    var pairs: [(Double, Double)] = []
    for a in specialParts { for b in specialParts { pairs.append((a, b)) } }
    var g = SeededGenerator(seed: 20261129)
    for _ in 0..<2000 { pairs.append((Double.random(in: -700...700, using: &g), Double.random(in: -100...100, using: &g))) }
    let list = pairs.map { "complex(\(pyFloat($0.0)), \(pyFloat($0.1)))" }.joined(separator: ",")
    let script = """
    import numpy as np, warnings
    warnings.simplefilter('ignore')
    z = np.array([\(list)], dtype=np.complex128)
    for dt in (np.complex128, np.complex64):
        r = np.exp(z.astype(dt))
        print(' '.join(repr(float(v)) for c in r for v in (c.real, c.imag)))
    """
    let out = try #require(python(script)).split(separator: "\n")
    let ref128 = out[0].split(separator: " ").map { Double(String($0))! }
    let ref64 = out[1].split(separator: " ").map { Double(String($0))! }
    let x = pairs.flatMap { [$0.0, $0.1] }
    var y = [Double](repeating: 0, count: x.count)
    x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ExpKernels.exp(complex: xb, into: $0, path: path) } }
    let xf = x.map { Float($0) }
    var yf = [Float](repeating: 0, count: x.count)
    xf.withUnsafeBufferPointer { xb in yf.withUnsafeMutableBufferPointer { ExpKernels.exp(complex: xb, into: $0, path: path) } }
    var bad: [String] = []
    for i in 0..<x.count {
        if !sameComplexPart(y[i], ref128[i], ulps: 4, ulp: 0x1p-52, tiny: 0x1p-1074) { bad.append("c128 \(pairs[i / 2]) part \(i % 2): \(y[i]) numpy \(ref128[i])") }
        if !sameComplexPart(Double(yf[i]), ref64[i], ulps: 4, ulp: 0x1p-23, tiny: 0x1p-149) { bad.append("c64 \(pairs[i / 2]) part \(i % 2): \(yf[i]) numpy \(ref64[i])") }
    }
    #expect(bad.isEmpty, "\(bad.prefix(8))")
}

/// complex64 at the README's claim, 0.5 ulp per component (each product rounded once to float), against numpy's
/// clongdouble exp of the same float inputs (x87 80-bit on x86-64: 40 bits beyond float, an independent reference),
/// over the vector path's whole range (|b| <= 1e5, b next to multiples of pi/2, tiny b) and past it (|b| up to 1e7,
/// huge a: the scalar lanes), in place and with a count that leaves a partial block. The bound allows 2^-20 ulp for
/// the double evaluation before the last rounding (errors of about 2^-45 relative) and the reference's own error.
@Test(.enabled(if: numpyAvailable, "python3 with numpy is not installed"), arguments: paths)
func complex64WithinHalfUlpOfLongDouble(path: ExpKernels.Path) throws {
    var g = SeededGenerator(seed: 20261130)
    var xs: [Float] = []
    for i in 0..<3001 {
        let a = Float.random(in: i % 7 == 0 ? -800...800 : -100...100, using: &g)
        var b: Float
        switch i % 5 {
        case 0: b = Float.random(in: -1e5...1e5, using: &g)
        case 1: b = Float.random(in: -10...10, using: &g)
        case 2: b = Float(Double.random(in: -1...1, using: &g) * Double(sign: .plus, exponent: -Int.random(in: 0...40, using: &g), significand: 1))
        case 3: // the floats next to k pi/2, where cos or sin nearly vanishes
            let k = Double(Int.random(in: -60_000...60_000, using: &g))
            b = Float(bitPattern: Float(k * Double.pi / 2).bitPattern &+ UInt32.random(in: 0...4, using: &g) &- 2)
        default: b = Float.random(in: -1e7...1e7, using: &g)
        }
        xs.append(a)
        xs.append(b)
    }
    let list = stride(from: 0, to: xs.count, by: 2).map { "complex(\(pyFloat(Double(xs[$0]))), \(pyFloat(Double(xs[$0 + 1]))))" }
    let script = """
    import numpy as np, warnings
    warnings.simplefilter('ignore')
    if np.finfo(np.longdouble).nmant < 63: raise SystemExit(1)
    z = np.array([\(list.joined(separator: ","))], dtype=np.complex128).astype(np.clongdouble)
    r = np.exp(z)
    print(' '.join(np.format_float_scientific(v, precision=21) for c in r for v in (c.real, c.imag)))
    """
    let ref = try #require(python(script), "numpy clongdouble (64-bit mantissa) unavailable")
        .split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Double(String($0))! }
    var y = xs
    y.withUnsafeMutableBufferPointer { yb in ExpKernels.exp(complex: UnsafeBufferPointer(yb), into: yb, path: path) }
    var bad: [String] = []
    var worst = 0.0
    for i in 0..<xs.count {
        let want = ref[i], got = Double(y[i])
        let wantF = Float(want) // overflow to inf / underflow to 0 as float
        if wantF.isInfinite || got.isInfinite {
            if Double(wantF) != got { bad.append("(\(xs[i & ~1]), \(xs[i | 1])) part \(i & 1): \(got) longdouble \(want)") }
            continue
        }
        // ulps of float at the exact value: the spacing of its binade, or the subnormal spacing below 2^-126
        let spacing = max(Double(sign: .plus, exponent: want == 0 ? -149 : want.exponent - 23, significand: 1), 0x1p-149)
        let err = abs(got - want) / spacing
        worst = max(worst, err)
        if err > 0.5 + 0x1p-20 { bad.append("(\(xs[i & ~1]), \(xs[i | 1])) part \(i & 1): \(got) longdouble \(want) err \(err) ulp") }
    }
    #expect(bad.isEmpty, "\(bad.count) components over 0.5 ulp (worst \(worst)): \(bad.prefix(6))")
}

/// complex128 against numpy's clongdouble exp (x87 80-bit on x86-64: 11 more bits than the result) of the same
/// inputs, over the vector path's range and past it (|b| up to 1e7, huge a), in place, with a partial block.
/// Measured: < 2.1 ulp on the vector lanes, < 3 ulp on the scalar |a| > 700 lanes (e^(a/2) squared); 3.5 allows
/// for the reference's own rounding to double.
@Test(.enabled(if: numpyAvailable, "python3 with numpy is not installed"), arguments: paths)
func complex128WithinAFewUlpsOfLongDouble(path: ExpKernels.Path) throws {
    var g = SeededGenerator(seed: 20261131)
    var xs: [Double] = []
    for i in 0..<3001 {
        let a = Double.random(in: i % 7 == 0 ? -800...800 : -100...100, using: &g)
        var b: Double
        switch i % 5 {
        case 0: b = Double.random(in: -1e5...1e5, using: &g)
        case 1: b = Double.random(in: -10...10, using: &g)
        case 2: b = Double.random(in: -1...1, using: &g) * Double(sign: .plus, exponent: -Int.random(in: 0...60, using: &g), significand: 1)
        case 3: // next to k pi/2
            let k = Double(Int.random(in: -60_000...60_000, using: &g))
            b = Double(bitPattern: (k * Double.pi / 2).bitPattern &+ UInt64.random(in: 0...4, using: &g) &- 2)
        default: b = Double.random(in: -1e7...1e7, using: &g)
        }
        xs.append(a)
        xs.append(b)
    }
    let list = stride(from: 0, to: xs.count, by: 2).map { "(\(pyFloat(xs[$0])), \(pyFloat(xs[$0 + 1])))" }
    let script = """
    import numpy as np, warnings
    warnings.simplefilter('ignore')
    if np.finfo(np.longdouble).nmant < 63: raise SystemExit(1)
    p = [\(list.joined(separator: ","))]
    z = np.array([complex(0, 0)] * len(p), dtype=np.clongdouble)
    z.real = np.array([a for a, b in p], dtype=np.longdouble); z.imag = np.array([b for a, b in p], dtype=np.longdouble)
    r = np.exp(z)
    print(' '.join(np.format_float_scientific(v, precision=21) for c in r for v in (c.real, c.imag)))
    """
    guard let out = python(script) else {
        Issue.record("numpy clongdouble (64-bit mantissa) unavailable: complex128 not checked against it")
        return
    }
    let ref = out.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Double(String($0))! }
    var y = xs
    y.withUnsafeMutableBufferPointer { yb in ExpKernels.exp(complex: UnsafeBufferPointer(yb), into: yb, path: path) }
    var bad: [String] = []
    for i in 0..<xs.count {
        let want = ref[i], got = y[i]
        let ok = want.isInfinite || got.isInfinite ? want == got
            : abs(got - want) <= 3.5 * max(want.ulp, Double.leastNonzeroMagnitude)
        if !ok { bad.append("(\(xs[i & ~1]), \(xs[i | 1])) part \(i & 1): \(got) longdouble \(want)") }
    }
    #expect(bad.isEmpty, "\(bad.count) components over 3.5 ulp: \(bad.prefix(6))")
}

func pyFloat(_ d: Double) -> String {
    if d.isNaN { return "float('nan')" }
    if d.isInfinite { return d > 0 ? "float('inf')" : "float('-inf')" }
    return "float.fromhex('\(hexString(d))')"
}

func hexString(_ d: Double) -> String {
    // exact: sign, 53-bit significand as integer, binary exponent
    if d == 0 { return d.sign == .minus ? "-0x0p+0" : "0x0p+0" }
    let e = Int(d.exponent) - 52
    let m = d.significandBitPattern | (d.isNormal ? (1 << 52) : 0)
    let ee = d.isNormal ? e : -1074
    return (d < 0 ? "-" : "") + "0x" + String(m, radix: 16) + "p" + String(ee)
}

@Test(.enabled(if: numpyAvailable, "python3 with numpy is not installed"))
func backwardMatchesNumpyGradTimesExp() throws {
    var g = SeededGenerator(seed: 20261132)
    let x = (0..<500).map { _ in Double.random(in: -20...20, using: &g) }
    let gr = (0..<500).map { _ in Double.random(in: -3...3, using: &g) }
    let script = """
    import numpy as np
    x = np.array([\(x.map(pyFloat).joined(separator: ","))])
    g = np.array([\(gr.map(pyFloat).joined(separator: ","))])
    print(' '.join(repr(float(v)) for v in g * np.exp(x)))
    zx = x[:250] + 1j * x[250:]
    zg = g[:250] + 1j * g[250:]
    r = zg * np.conj(np.exp(zx))
    print(' '.join(repr(float(v)) for c in r for v in (c.real, c.imag)))
    """
    let out = try #require(python(script)).split(separator: "\n")
    let want = out[0].split(separator: " ").map { Double(String($0))! }
    let wantC = out[1].split(separator: " ").map { Double(String($0))! }
    // float64: result from our forward kernel, then backward in place into the grad buffer
    var y = [Double](repeating: 0, count: 500)
    x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ExpKernels.exp(xb, into: $0) } }
    var o = gr
    y.withUnsafeBufferPointer { yb in o.withUnsafeMutableBufferPointer { ob in
        ExpKernels.backward(result: yb, grad: UnsafeBufferPointer(ob), into: ob) } }
    #expect(zip(o, want).allSatisfy { abs($0 - $1) <= 2e-16 * abs($1) * 4 })
    // float32
    let yf = y.map { Float($0) }, gf = gr.map { Float($0) }
    var of = [Float](repeating: 0, count: 500)
    yf.withUnsafeBufferPointer { yb in gf.withUnsafeBufferPointer { gb in of.withUnsafeMutableBufferPointer {
        ExpKernels.backward(result: yb, grad: gb, into: $0) } } }
    #expect(zip(of, want).allSatisfy { abs(Double($0) - $1) <= 4e-7 * abs($1) })
    // half: operands rounded to half; the product is rounded once, so it equals numpy's float16 product rounding
    // Conversions by Swift's Float16 (one IEEE rounding, compiler-rt), not by the kernels' own converters.
    let yh = y.map { Float16($0).bitPattern }, gh = gr.map { Float16($0).bitPattern }
    var oh = [UInt16](repeating: 0, count: 500)
    yh.withUnsafeBufferPointer { yb in gh.withUnsafeBufferPointer { gb in oh.withUnsafeMutableBufferPointer {
        ExpKernels.backward(halfResult: yb, grad: gb, into: $0) } } }
    for i in 0..<500 {
        let exact = Double(Float16(bitPattern: yh[i])) * Double(Float16(bitPattern: gh[i]))  // exact in double
        #expect(oh[i] == Float16(exact).bitPattern)
        let v = Double(Float16(bitPattern: oh[i]))
        // Relative error from three half roundings, plus, where y, g or the product is a subnormal half, half of
        // the subnormal spacing 2^-24 for each, scaled by the other operand (|g| for y's, |y| for g's, 1 for the
        // product's). The inputs are random, so the bound must hold for every draw.
        let subnormalSlack = (abs(gr[i]) + abs(y[i]) + 1) * 0x1p-25
        #expect(v.isInfinite || abs(v - want[i]) <= 2.5e-3 * abs(want[i]) + max(1e-7, subnormalSlack))
    }
    // complex128: grad * conj(exp(z)), in place into the result buffer
    let zx = (0..<250).flatMap { [x[$0], x[250 + $0]] }, zg = (0..<250).flatMap { [gr[$0], gr[250 + $0]] }
    var zy = [Double](repeating: 0, count: 500)
    zx.withUnsafeBufferPointer { xb in zy.withUnsafeMutableBufferPointer { ExpKernels.exp(complex: xb, into: $0) } }
    let forward = zy
    zg.withUnsafeBufferPointer { gb in zy.withUnsafeMutableBufferPointer { yb in
        ExpKernels.backward(complexResult: UnsafeBufferPointer(yb), grad: gb, into: yb) } }
    for k in 0..<250 {
        let (gr, gi) = (Float80(zg[2 * k]), Float80(zg[2 * k + 1]))
        let (yr, yi) = (Float80(forward[2 * k]), Float80(forward[2 * k + 1]))
        // The product of our own forward result, in long double (64-bit significands: each double product is within
        // 2^-64 of exact). Each component is a sum of two products, so its error is bounded by the terms, not the
        // (possibly cancelled) sum: two roundings of the products and one of the sum, at most eps * (|t1| + |t2|).
        let eps = Float80(Double.ulpOfOne)
        let re = gr * yr + gi * yi, im = gi * yr - gr * yi
        let reTerms = abs(gr * yr) + abs(gi * yi), imTerms = abs(gi * yr) + abs(gr * yi)
        #expect(abs(Float80(zy[2 * k]) - re) <= eps * reTerms, "complex128 backward real part, element \(k)")
        #expect(abs(Float80(zy[2 * k + 1]) - im) <= eps * imTerms, "complex128 backward imaginary part, element \(k)")
        // Against numpy's grad * conj(exp(z)): both exps are within a few ulps of each component of exp(z), so
        // the products agree within a few eps of |g| * |y| (numpy's complex exp is not correctly rounded).
        let magnitude = (gr * gr + gi * gi).squareRoot() * (yr * yr + yi * yi).squareRoot()
        #expect(abs(Float80(zy[2 * k]) - Float80(wantC[2 * k])) <= 8 * eps * magnitude)
        #expect(abs(Float80(zy[2 * k + 1]) - Float80(wantC[2 * k + 1])) <= 8 * eps * magnitude)
    }
}

/// SplitMix64 (ToolSupport), so that every run (and every CI run) draws the same "random" inputs: a failure reproduces.
typealias SeededGenerator = SplitMix64

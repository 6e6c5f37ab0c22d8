// exp-accuracy: checks the exp kernels against an independent reference (libm expl in long double, rounded once;
// results too close to a rounding boundary for expl to decide are resolved with mpmath via python3). Exits 1 when
// any input is misrounded (or over the float64 bound) or a close call stays unresolved, so CI can run it.
//   exp-accuracy float32 [--path P] [--stride S] [--hard-cases FILE] [--write-hard-cases FILE]
//       all 2^32 inputs; with --stride S one input drawn (seeded) from every S consecutive bit patterns, plus every
//       float in the ranges where the kernel changes method (subnormal results, overflow, the scalar-path cut
//       points), the neighbours of the thresholds, and the inputs listed in FILE (hex bit patterns, `#` comments).
//       --write-hard-cases lists the inputs whose exp lies within 2^-19 ulp of a rounding midpoint (the hardest to
//       round; bench/float32-hard-cases.txt was made by a full run).
//   exp-accuracy float16 [--path P]               all 65536 inputs
//   exp-accuracy float64 [--path P] [--count N]   N random inputs (default 1e8) plus boundary sets and specials
// Runs on all cores (DispatchQueue.concurrentPerform over ranges). Release build recommended. The first line names
// the commit, build, CPU and load (ToolSupport.RunInfo), so saved output can be traced.
import CExpKernels
import CExpReference
import Dispatch
import ExpKernels
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif

func printError(_ s: String) {
    _ = s.withCString { write(2, $0, strlen($0)) }
}

struct Options {
    var mode = "float32"
    var paths: [ExpKernels.Path] = ExpKernels.availablePaths
    var count: Int? = nil
    var stride: Int? = nil
    var hardCases: [String] = []
    var writeHardCases: String? = nil
}

func parseOptions() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    if let first = args.first, !first.hasPrefix("--") { o.mode = first; args.removeFirst() }
    var i = 0
    func usage() -> Never {
        printError("""
            usage: exp-accuracy float32|float16|float64 [--path baseline|avx2|avx512] [--count N] [--stride S]
                   [--hard-cases FILE] [--write-hard-cases FILE]

            """)
        exit(64)
    }
    while i < args.count {
        guard i + 1 < args.count else { usage() }
        let value = args[i + 1]
        switch args[i] {
        case "--path":
            guard let p = ExpKernels.Path(rawValue: value), ExpKernels.availablePaths.contains(p) else {
                printError("exp-accuracy: path \(value) unknown or not supported by this CPU\n"); exit(64)
            }
            o.paths = [p]
        case "--count":
            guard let n = Double(value), n >= 1 else { printError("exp-accuracy: bad --count\n"); exit(64) }
            o.count = Int(n)
        case "--stride":
            guard let n = Int(value), n >= 1, n <= 1 << 24 else { printError("exp-accuracy: bad --stride\n"); exit(64) }
            o.stride = n
        case "--hard-cases": o.hardCases.append(value)
        case "--write-hard-cases": o.writeHardCases = value
        default: usage()
        }
        i += 2
    }
    return o
}

/// Per-range tallies, merged under a lock-free scheme: each iteration writes only its own slot.
struct Tally {
    var inputs = 0
    var misrounded = 0
    var maxErr = 0.0
    var maxErrX: UInt64 = 0
    var ambiguous: [UInt64] = []
    var examples: [String] = []
    var hard: [UInt32] = []
}

/// Slots for concurrentPerform: iteration i touches only slot i, so sharing the buffer across threads is safe.
final class Slots<T>: @unchecked Sendable {
    var items: [T]
    init(_ n: Int, _ v: T) { items = Array(repeating: v, count: n) }
}

/// Asks mpmath (python3) for correctly rounded exp of the given inputs; fmt: "f32" (bits as float32), "f16", "f64".
func mpmathExp(_ bits: [UInt64], fmt: String) -> [UInt64]? {
    if bits.isEmpty { return [] }
    let script = """
    import sys, mpmath, struct
    mpmath.mp.prec = 400
    fmt = sys.argv[1]
    p, emin, width = {'f32': (24, -126, 32), 'f16': (11, -14, 16), 'f64': (53, -1022, 64)}[fmt]
    def dec(b):
        if fmt == 'f32': return struct.unpack('<f', struct.pack('<I', b))[0]
        if fmt == 'f64': return struct.unpack('<d', struct.pack('<Q', b))[0]
        import numpy as np
        return float(np.array([b], dtype=np.uint16).view(np.float16)[0])
    def enc(v):
        import numpy as np
        t = {'f32': np.float32, 'f16': np.float16, 'f64': np.float64}[fmt]
        return int(np.array([v], dtype=t).view({'f32': np.uint32, 'f16': np.uint16, 'f64': np.uint64}[fmt])[0])
    for line in sys.stdin:
        b = int(line)
        x = mpmath.mpf(dec(b))
        v = mpmath.exp(x)
        e = int(mpmath.floor(mpmath.log(v, 2)))
        q = max(e - p + 1, emin - p + 1)
        n = int(mpmath.floor(v / mpmath.mpf(2) ** q + mpmath.mpf(0.5)))
        print(enc(float(mpmath.mpf(n) * mpmath.mpf(2) ** q)))
    """
    let dir = "/tmp/exp-accuracy-\(getpid())"
    mkdir(dir, 0o700)
    let inPath = dir + "/in.txt", outPath = dir + "/out.txt", pyPath = dir + "/r.py"
    func write(_ path: String, _ s: String) {
        guard let f = fopen(path, "w") else { return }
        fputs(s, f); fclose(f)
    }
    write(pyPath, script)
    write(inPath, bits.map { String($0) }.joined(separator: "\n") + "\n")
    let status = system("python3 \(pyPath) \(fmt) < \(inPath) > \(outPath) 2>/dev/null")
    guard status == 0, let f = fopen(outPath, "r") else { return nil }
    var out: [UInt64] = []
    var line: UnsafeMutablePointer<CChar>? = nil
    var cap = 0
    while getline(&line, &cap, f) > 0 {
        if let l = line, let v = UInt64(String(cString: l).trimmingWhitespace()) { out.append(v) }
    }
    fclose(f)
    free(line)
    return out.count == bits.count ? out : nil
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.last, c == "\n" || c == " " || c == "\r" { s.removeLast() }
        return String(s)
    }
}

let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))

/// The float32 inputs of one run: `sampled` patterns from `pattern(i)`, then the listed extra patterns.
struct Float32Inputs: Sendable {
    let sampled: Int
    let describe: String
    let pattern: @Sendable (Int) -> UInt32
    let extra: [UInt32]
    var count: Int { sampled + extra.count }
    func bits(_ i: Int) -> UInt32 { i < sampled ? pattern(i) : extra[i - sampled] }
}

/// Every float32 from `a` to `b` (same sign, either order), as bit patterns.
func allFloats(_ a: Float, _ b: Float) -> [UInt32] {
    let lo = min(a.bitPattern, b.bitPattern), hi = max(a.bitPattern, b.bitPattern)
    return Array(lo...hi)
}

/// Where the float32 kernel changes method or the result changes kind, swept densely: every float with a subnormal
/// or near-subnormal result ([-104, -87], which includes the slow-branch cut at -87.33), every float from the fast
/// form's branch on |x| > 87.33 past the overflow threshold ([87.3, 89], the cut at 88.72), and 4096 bit patterns
/// either side of each threshold point, of 0, of +-2^-25 (where e^x stops rounding to 1) and of the special
/// encodings (inf, NaN, FLT_MAX).
func float32DenseRanges() -> [UInt32] {
    var v = allFloats(-104, -87) + allFloats(87.3, 89)
    let points: [Float] = [0, -0.0, 0x1p-25, -0x1p-25, 0x1p-24, -0x1p-24, 1, -1, 88.72283, 88.72, 87.33, -87.33654, -87.33,
                           -103.27893, -103.972076, -104, 89, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                           .infinity, -.infinity, .nan]
    for p in points {
        let b = p.bitPattern
        for d in UInt32(1)...4096 { v.append(b &+ d); v.append(b &- d) }
        v.append(b)
    }
    v.append(0xffff_ffff)
    return v
}

/// Hex bit patterns, one per line (the first word of each line; `#` starts a comment).
func readHardCases(_ path: String) -> [UInt32] {
    guard let f = fopen(path, "r") else { printError("exp-accuracy: cannot read \(path)\n"); exit(66) }
    defer { fclose(f) }
    var out: [UInt32] = []
    var line: UnsafeMutablePointer<CChar>? = nil
    var cap = 0
    while getline(&line, &cap, f) > 0 {
        guard let l = line else { break }
        let text = String(cString: l)
        guard let word = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first,
              !word.hasPrefix("#") else { continue }
        guard word.hasPrefix("0x"), let v = UInt32(word.dropFirst(2), radix: 16) else {
            printError("exp-accuracy: \(path): not a hex bit pattern: \(word)\n"); exit(65)
        }
        out.append(v)
    }
    free(line)
    return out
}

func float32Inputs(_ o: Options) -> Float32Inputs {
    let listed = o.hardCases.flatMap(readHardCases)
    if let stride = o.stride, stride > 1 {
        let n = Int((UInt64(1) << 32) / UInt64(stride))
        let dense = float32DenseRanges()
        return Float32Inputs(
            sampled: n, describe: "1 in \(stride) (seeded), \(dense.count) dense-range, \(listed.count) listed",
            pattern: { i in
                var g = SplitMix64(seed: UInt64(i) ^ 0xF10A_7320)
                return UInt32(truncatingIfNeeded: i &* stride &+ Int(g.next() % UInt64(stride)))
            }, extra: dense + listed)
    }
    if let count = o.count, count < 1 << 32 {
        let step = max(1, (1 << 32) / count)
        return Float32Inputs(sampled: count, describe: "first \(count) patterns in steps of \(step), \(listed.count) listed",
                             pattern: { i in UInt32(truncatingIfNeeded: i &* step) }, extra: listed)
    }
    return Float32Inputs(sampled: 1 << 32, describe: "all 2^32, \(listed.count) listed",
                         pattern: { i in UInt32(truncatingIfNeeded: i) }, extra: listed)
}

/// Inputs whose exp lies this close to a float32 rounding midpoint (in ulps) are listed by --write-hard-cases.
let hardCaseDistance = 0x1p-19

func runFloat32(_ path: ExpKernels.Path, _ inputs: Float32Inputs, writeHardCases: String?) -> Bool {
    let chunk = 1 << 20
    let nChunks = (inputs.count + chunk - 1) / chunk
    let slots = Slots(nChunks, Tally())
    let t0 = monotonicSeconds()
    DispatchQueue.concurrentPerform(iterations: nChunks) { c in
        var t = Tally()
        let start = c * chunk, end = min(inputs.count, start + chunk)
        var x = [Float](repeating: 0, count: end - start)
        var y = [Float](repeating: 0, count: end - start)
        for i in start..<end { x[i - start] = Float(bitPattern: inputs.bits(i)) }
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ExpKernels.exp(xb, into: $0, path: path) } }
        for i in 0..<x.count {
            t.inputs += 1
            // Inputs whose correctly rounded result is known without expl (saves ~88% of the time):
            // |x| < 2^-25: 1 - 2^-25 < 1 + x <= e^x < 1 + x + x^2 < 1 + 2^-24, strictly inside 1's rounding interval;
            // x < -104: e^x < 2^-150 rounds to +0; x > 89: e^x > FLT_MAX + ulp/2 overflows to inf.
            let ax = abs(x[i])
            if ax < 0x1p-25 || x[i] < -104 || x[i] > 89 {
                let want: Float = ax < 0x1p-25 ? 1 : (x[i] < 0 ? 0 : .infinity)
                if y[i].bitPattern != want.bitPattern {
                    t.misrounded += 1
                    if t.examples.count < 5 { t.examples.append("x=\(x[i]) got \(y[i]) want \(want)") }
                }
                continue
            }
            if writeHardCases != nil, npyexp_ref_expf_tie_distance(x[i]) < hardCaseDistance {
                t.hard.append(x[i].bitPattern)
            }
            var amb: Int32 = 0
            var err = 0.0
            let ref = npyexp_ref_expf(x[i], &amb, y[i], &err)
            if amb != 0 { t.ambiguous.append(UInt64(x[i].bitPattern)); continue }
            let same = ref.isNaN ? y[i].isNaN : ref.bitPattern == y[i].bitPattern
            if !same {
                t.misrounded += 1
                if t.examples.count < 5 { t.examples.append("x=\(x[i]) got \(y[i]) want \(ref)") }
            }
            if err > t.maxErr { t.maxErr = err; t.maxErrX = UInt64(x[i].bitPattern) }
        }
        slots.items[c] = t
    }
    if let file = writeHardCases { writeHardCaseList(file, slots.items.flatMap(\.hard), inputs.describe) }
    return report("float32 (\(inputs.describe))", path, slots.items, t0, fmt: "f32") { b in
        let xs = [Float(bitPattern: UInt32(b))]
        var ys: [Float] = [0]
        xs.withUnsafeBufferPointer { xb in ys.withUnsafeMutableBufferPointer { ExpKernels.exp(xb, into: $0, path: path) } }
        return UInt64(ys[0].bitPattern)
    }
}

func writeHardCaseList(_ path: String, _ bits: [UInt32], _ describe: String) {
    guard let f = fopen(path, "w") else { printError("exp-accuracy: cannot write \(path)\n"); exit(73) }
    defer { fclose(f) }
    fputs("# float32 inputs whose exp (glibc expl, long double) lies within 2^-19 ulp of a float32 rounding midpoint:\n", f)
    fputs("# the hardest inputs to round correctly. Made by `exp-accuracy float32 --write-hard-cases FILE` (\(describe)).\n", f)
    fputs("# \(runHeader)\n", f)
    fputs("# bits       x                  distance from the midpoint (ulp)\n", f)
    for b in bits.sorted() {
        let x = Float(bitPattern: b)
        fputs("0x\(String(b, radix: 16))  \(x)  \(npyexp_ref_expf_tie_distance(x))\n", f)
    }
}

func runFloat16(_ path: ExpKernels.Path) -> Bool {
    let t0 = monotonicSeconds()
    let x = (0..<65536).map { UInt16($0) }
    var y = [UInt16](repeating: 0, count: 65536)
    x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ExpKernels.exp(half: xb, into: $0, path: path) } }
    var t = Tally()
    for i in 0..<65536 {
        var amb: Int32 = 0
        let ref = npyexp_ref_exph(x[i], &amb)
        t.inputs += 1
        if amb != 0 { t.ambiguous.append(UInt64(x[i])); continue }
        let isNaN = (ref & 0x7c00) == 0x7c00 && (ref & 0x3ff) != 0
        let same = isNaN ? ((y[i] & 0x7c00) == 0x7c00 && (y[i] & 0x3ff) != 0) : ref == y[i]
        if !same {
            t.misrounded += 1
            if t.examples.count < 5 { t.examples.append("x=0x\(String(x[i], radix: 16)) got 0x\(String(y[i], radix: 16)) want 0x\(String(ref, radix: 16))") }
        }
    }
    return report("float16", path, [t], t0, fmt: "f16", maxErrKnown: false) { b in
        var xs = [UInt16(b)], ys = [UInt16(0)]
        xs.withUnsafeBufferPointer { xb in ys.withUnsafeMutableBufferPointer { ExpKernels.exp(half: xb, into: $0, path: path) } }
        return UInt64(ys[0])
    }
}

func report(_ name: String, _ path: ExpKernels.Path, _ tallies: [Tally], _ t0: Double, fmt: String,
            maxErrKnown: Bool = true, kernel: (UInt64) -> UInt64) -> Bool {
    var inputs = 0, mis = 0, maxErr = 0.0, maxX: UInt64 = 0
    var amb: [UInt64] = [], ex: [String] = []
    for t in tallies {
        inputs += t.inputs; mis += t.misrounded; amb += t.ambiguous; ex += t.examples
        if t.maxErr > maxErr { maxErr = t.maxErr; maxX = t.maxErrX }
    }
    var ambNote = ""
    var unresolved = false
    if !amb.isEmpty {
        if let resolved = mpmathExp(amb, fmt: fmt) {
            var bad = 0
            for (b, r) in zip(amb, resolved) where kernel(b) != r {
                bad += 1
                ex.append("x bits 0x\(String(b, radix: 16)): mpmath 0x\(String(r, radix: 16)) got 0x\(String(kernel(b), radix: 16))")
            }
            mis += bad
            ambNote = ", \(amb.count) too close for expl resolved by mpmath"
        } else {
            ambNote = ", \(amb.count) UNRESOLVED (too close for expl; python3/mpmath unavailable)"
            unresolved = true
        }
    }
    let errText = maxErrKnown ? ", max error \(fixed(maxErr, 4)) ulp" : ""
    print("\(name) \(path.rawValue): \(inputs) inputs, \(mis) misrounded\(errText)\(ambNote), \(fixed(monotonicSeconds() - t0, 1)) s")
    if maxErrKnown && maxErr > 0 { print("  max error at x bits 0x\(String(maxX, radix: 16))") }
    for e in ex.prefix(10) { print("  " + e) }
    return mis == 0 && !unresolved
}

func float64Boundaries() -> [Double] {
    var v: [Double] = [0, -0.0, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                       .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, 1, -1]
    for center in [709.782712893384, -708.3964185322641, -745.1332191019411, -744.4400719213812, 708.0, -708.0,
                   0.0, 1e-300, -1e-300, 0.5 * 0.6931471805599453] {
        var up = center, down = center
        for _ in 0..<20000 { up = up.nextUp; down = down.nextDown; v.append(up); v.append(down) }
    }
    // dense sweep across the subnormal-result range
    var x = -746.0
    while x < -707.0 { v.append(x); x += 1.0 / 4096 }
    return v
}

/// The float64 error bound the kernels claim (README, cexpkernels.h): under 0.52 ulp, measured against expl.
let float64Bound = 0.52

func runFloat64(_ path: ExpKernels.Path, total: Int) -> Bool {
    let t0 = monotonicSeconds()
    let boundaries = float64Boundaries()
    let chunk = 1 << 20
    let nChunks = (total + chunk - 1) / chunk + 1
    let slots = Slots(nChunks, Tally())
    DispatchQueue.concurrentPerform(iterations: nChunks) { c in
        var t = Tally()
        var x: [Double]
        if c == nChunks - 1 {
            x = boundaries
        } else {
            var g = SplitMix64(seed: UInt64(c) &* 0x1234_5678_9ABC_DEF1)
            let n = min(chunk, total - c * chunk)
            x = (0..<max(0, n)).map { i in
                if i % 3 == 0 {
                    var d: Double
                    repeat { d = Double(bitPattern: g.next()) } while !d.isFinite
                    return d
                }
                return Double.random(in: -746.0...710.0, using: &g)
            }
        }
        var y = [Double](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { ExpKernels.exp(xb, into: $0, path: path) } }
        for i in 0..<x.count {
            var err = 0.0
            let L = npyexp_ref_exp(x[i], y[i], &err)
            t.inputs += 1
            let specialOK: Bool
            if x[i].isNaN { specialOK = y[i].isNaN }
            else if L.isInfinite || y[i].isInfinite { specialOK = L == y[i] }
            else { specialOK = true }
            if !specialOK || err > float64Bound {
                t.misrounded += 1
                if t.examples.count < 5 { t.examples.append("x=\(x[i]) got \(y[i]) expl \(L) err \(err)") }
            }
            if err > t.maxErr { t.maxErr = err; t.maxErrX = x[i].bitPattern }
        }
        slots.items[c] = t
    }
    var inputs = 0, bad = 0, maxErr = 0.0, maxX: UInt64 = 0, ex: [String] = []
    for t in slots.items {
        inputs += t.inputs; bad += t.misrounded; ex += t.examples
        if t.maxErr > maxErr { maxErr = t.maxErr; maxX = t.maxErrX }
    }
    print("float64 \(path.rawValue): \(inputs) inputs (\(boundaries.count) boundary/special), \(bad) over \(float64Bound) ulp or wrong special, max error \(fixed(maxErr, 4)) ulp at x=\(Double(bitPattern: maxX)) (expl has \(npyexp_ref_long_double_mant_bits())-bit mantissa), \(fixed(monotonicSeconds() - t0, 1)) s")
    for e in ex.prefix(10) { print("  " + e) }
    return bad == 0
}

let opts = parseOptions()
/// Commit, build, CPU and load as they were when the run started.
let runHeader = RunInfo.header(tool: "exp-accuracy")
print(runHeader)
print("exp-accuracy: \(cores) cores, paths \(opts.paths.map(\.rawValue).joined(separator: ","))")
var allGood = true
let f32Inputs = opts.mode == "float32" ? float32Inputs(opts) : nil
for (n, path) in opts.paths.enumerated() {
    switch opts.mode {
    case "float32": allGood = runFloat32(path, f32Inputs!, writeHardCases: n == 0 ? opts.writeHardCases : nil) && allGood
    case "float16": allGood = runFloat16(path) && allGood
    case "float64": allGood = runFloat64(path, total: opts.count ?? 100_000_000) && allGood
    default: printError("exp-accuracy: unknown mode \(opts.mode)\n"); exit(64)
    }
}
exit(allGood ? 0 : 1)

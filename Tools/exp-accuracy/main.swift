// exp-accuracy: checks the exp kernels against an independent reference (libm expl in long double, rounded once;
// results too close to a rounding boundary for expl to decide are resolved with mpmath via python3).
//   exp-accuracy float32 [--path P] [--count N]   every one of the 2^32 inputs (or the first N patterns, strided)
//   exp-accuracy float16 [--path P]               all 65536 inputs
//   exp-accuracy float64 [--path P] [--count N]   N random inputs (default 1e8) plus boundary sets and specials
// Runs on all cores (DispatchQueue.concurrentPerform over ranges). Release build recommended.
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
}

func parseOptions() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    if let first = args.first, !first.hasPrefix("--") { o.mode = first; args.removeFirst() }
    var i = 0
    while i < args.count {
        switch args[i] {
        case "--path" where i + 1 < args.count:
            guard let p = ExpKernels.Path(rawValue: args[i + 1]), ExpKernels.availablePaths.contains(p) else {
                printError("exp-accuracy: path \(args[i + 1]) unknown or not supported by this CPU\n"); exit(64)
            }
            o.paths = [p]; i += 2
        case "--count" where i + 1 < args.count:
            guard let n = Double(args[i + 1]), n >= 1 else { printError("exp-accuracy: bad --count\n"); exit(64) }
            o.count = Int(n); i += 2
        default:
            printError("usage: exp-accuracy float32|float16|float64 [--path baseline|avx2|avx512] [--count N]\n")
            exit(64)
        }
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

func runFloat32(_ path: ExpKernels.Path, total: Int) {
    let chunk = 1 << 20
    let stride = total >= (1 << 32) ? 1 : max(1, (1 << 32) / total)
    let nChunks = (total + chunk - 1) / chunk
    let slots = Slots(nChunks, Tally())
    let t0 = monotonicSeconds()
    DispatchQueue.concurrentPerform(iterations: nChunks) { c in
        var t = Tally()
        let start = c * chunk, end = min(total, start + chunk)
        var x = [Float](repeating: 0, count: end - start)
        var y = [Float](repeating: 0, count: end - start)
        for i in start..<end { x[i - start] = Float(bitPattern: UInt32(truncatingIfNeeded: i &* stride)) }
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
    report("float32", path, slots.items, t0, fmt: "f32") { b in
        let xs = [Float(bitPattern: UInt32(b))]
        var ys: [Float] = [0]
        xs.withUnsafeBufferPointer { xb in ys.withUnsafeMutableBufferPointer { ExpKernels.exp(xb, into: $0, path: path) } }
        return UInt64(ys[0].bitPattern)
    }
}

func runFloat16(_ path: ExpKernels.Path) {
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
    report("float16", path, [t], t0, fmt: "f16", maxErrKnown: false) { b in
        var xs = [UInt16(b)], ys = [UInt16(0)]
        xs.withUnsafeBufferPointer { xb in ys.withUnsafeMutableBufferPointer { ExpKernels.exp(half: xb, into: $0, path: path) } }
        return UInt64(ys[0])
    }
}

func report(_ name: String, _ path: ExpKernels.Path, _ tallies: [Tally], _ t0: Double, fmt: String,
            maxErrKnown: Bool = true, kernel: (UInt64) -> UInt64) {
    var inputs = 0, mis = 0, maxErr = 0.0, maxX: UInt64 = 0
    var amb: [UInt64] = [], ex: [String] = []
    for t in tallies {
        inputs += t.inputs; mis += t.misrounded; amb += t.ambiguous; ex += t.examples
        if t.maxErr > maxErr { maxErr = t.maxErr; maxX = t.maxErrX }
    }
    var ambNote = ""
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
        }
    }
    let errText = maxErrKnown ? ", max error \(fixed(maxErr, 4)) ulp" : ""
    print("\(name) \(path.rawValue): \(inputs) inputs, \(mis) misrounded\(errText)\(ambNote), \(fixed(monotonicSeconds() - t0, 1)) s")
    if maxErrKnown && maxErr > 0 { print("  max error at x bits 0x\(String(maxX, radix: 16))") }
    for e in ex.prefix(10) { print("  " + e) }
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

func runFloat64(_ path: ExpKernels.Path, total: Int) {
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
            if !specialOK || err > 1.0 {
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
    print("float64 \(path.rawValue): \(inputs) inputs (\(boundaries.count) boundary/special), \(bad) over 1 ulp or wrong special, max error \(fixed(maxErr, 4)) ulp at x=\(Double(bitPattern: maxX)) (expl has \(npyexp_ref_long_double_mant_bits())-bit mantissa), \(fixed(monotonicSeconds() - t0, 1)) s")
    for e in ex.prefix(10) { print("  " + e) }
}

let opts = parseOptions()
print("exp-accuracy: \(cores) cores, paths \(opts.paths.map(\.rawValue).joined(separator: ",")) (avx512 runs only where the CPU has it)")
for path in opts.paths {
    switch opts.mode {
    case "float32": runFloat32(path, total: min(opts.count ?? (1 << 32), 1 << 32))
    case "float16": runFloat16(path)
    case "float64": runFloat64(path, total: opts.count ?? 100_000_000)
    default: printError("exp-accuracy: unknown mode \(opts.mode)\n"); exit(64)
    }
}

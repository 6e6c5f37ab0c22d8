// exp-bench: throughput of the exp kernels (Gelem/s) per dtype and per available code path, next to numpy's np.exp
// on the same data in the same run (python3 subprocess, best and median of several runs) when python3 + numpy exist;
// on an AVX-512 CPU the AVX2 path's ratios are against numpy with its AVX-512 kernels turned off (its AVX2 ones).
//   exp-bench [float32|float64|float16|complex64|complex128 ...]   (default: all)
// For each path: streaming over 64 MiB in-memory arrays (the brief's measure) on one thread and on all cores
// (DispatchQueue.concurrentPerform, one slice per core), and in cache: one sweep over a 1 MiB array timed on its
// own, many times (numpy is timed both ways too), and runs of 16 sweeps on one thread vs one slice per core (the
// scaling without memory traffic). A sweep lasts well under a scheduler time slice, so on a loaded machine the best
// in-cache times still show the compute rate, while a 64 MiB pass is nearly always interrupted. Prints best and
// median and the load average before and after: the machine is shared, so only ratios measured side by side in one
// run mean much. A benchmark, not a test.
// Inputs are seeded (the same in every run) and mixed as real data can be, so the slow lanes run too: by default 90%
// N(0, 3), 5% beyond the overflow / underflow thresholds (scalar path), 5% specials (NaN, +-inf, +-0); complex
// inputs draw each part so. `--out-of-range P` and `--specials P` set the shares (0 gives clean N(0, 3) data).
// `--rounds N` repeats the whole comparison, numpy included, N times and ends with the median over the rounds of each
// round's ratio: numpy's own speed on this machine moves by up to a third between invocations.
// The first line names commit, build, CPU model and load (ToolSupport.RunInfo), so a saved output can be traced.
import Dispatch
import ExpKernels
import Foundation
import ToolSupport

let bytes = 64 << 20
let cacheBytes = 1 << 20
let reps = 9
let cores = ProcessInfo.processInfo.activeProcessorCount

func seconds() -> Double { monotonicSeconds() }

func loadAverage() -> String { RunInfo.loadAverage }

/// Shares raw buffers with concurrentPerform: each iteration reads and writes only its own slice.
struct Shared<T>: @unchecked Sendable {
    let x: UnsafeMutableBufferPointer<T>
    let y: UnsafeMutableBufferPointer<T>
}

struct Case {
    let name: String
    let numpyDtype: String
    let elementScalars: Int   // scalars per element (2 for complex)
}

/// Best and median seconds of `count` runs of `body`.
func timeRuns(_ count: Int = reps, _ body: () -> Void) -> (best: Double, median: Double) {
    var ts: [Double] = []
    for _ in 0..<count {
        let t0 = seconds()
        body()
        ts.append(seconds() - t0)
    }
    ts.sort()
    return (ts[0], ts[ts.count / 2])
}

/// Times `count` runs of `sweeps` sweeps of `kernel` over x -> y, on one thread or split into one slice per thread
/// (each thread sweeping its own slice).
func measure<T>(_ x: UnsafeMutableBufferPointer<T>, _ y: UnsafeMutableBufferPointer<T>, granule: Int, threads: Int,
                count: Int, sweeps: Int = 1,
                _ kernel: @escaping @Sendable (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void)
    -> (best: Double, median: Double) {
    let shared = Shared(x: x, y: y)
    if threads == 1 {
        return timeRuns(count) { for _ in 0..<sweeps { kernel(UnsafeBufferPointer(shared.x), shared.y) } }
    }
    let per = (x.count / granule + threads - 1) / threads * granule
    let who = ThreadSlots(threads)
    parallelRuns = (0, 0)
    return timeRuns(count) {
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            who.ids[i] = pthread_self()
            let lo = min(i * per, shared.x.count), hi = min(lo + per, shared.x.count)
            guard lo < hi else { return }
            let xs = UnsafeBufferPointer(rebasing: shared.x[lo..<hi])
            let ys = UnsafeMutableBufferPointer(rebasing: shared.y[lo..<hi])
            for _ in 0..<sweeps { kernel(xs, ys) }
        }
        parallelRuns.total += 1
        if Set(who.ids.map { UInt($0) }).count > 1 { parallelRuns.parallel += 1 }
    }
}

/// The thread that ran each slice of one concurrentPerform: iteration i writes only slot i.
final class ThreadSlots: @unchecked Sendable {
    var ids: [pthread_t]
    init(_ n: Int) { ids = Array(repeating: pthread_self(), count: n) }
}

/// Of the last all-cores measurement: runs, and runs whose slices ran on more than one thread (libdispatch may run
/// every slice on the calling thread when its workers are busy, which no kernel speed-up can fix).
nonisolated(unsafe) var parallelRuns = (total: 0, parallel: 0)

/// numpy np.exp on the same bytes: (best, median) seconds of a whole pass and of one call on the first `cacheBytes`,
/// or nil without python3/numpy.
/// `disabling` lists numpy dispatch targets to turn off (NPY_DISABLE_CPU_FEATURES), e.g. its AVX-512 kernels.
func numpyTime(_ raw: UnsafeRawBufferPointer, dtype: String, cacheCount: Int, disabling: String? = nil) -> [Double]? {
    let path = NSTemporaryDirectory() + "exp-bench-\(getpid()).bin"
    guard FileManager.default.createFile(atPath: path, contents: Data(raw)) else { return nil }
    defer { try? FileManager.default.removeItem(atPath: path) }
    let script = """
    import numpy as np, time, statistics, warnings
    warnings.simplefilter('ignore')
    a = np.fromfile('\(path)', dtype=np.\(dtype)); out = np.empty_like(a); ts = []
    np.exp(a, out=out)
    for _ in range(\(reps)):
        t0 = time.perf_counter(); np.exp(a, out=out); ts.append(time.perf_counter() - t0)
    c = a[:\(cacheBytes) // a.itemsize].copy(); co = np.empty_like(c); cs = []
    for _ in range(\(cacheCount)):
        t0 = time.perf_counter(); np.exp(c, out=co); cs.append(time.perf_counter() - t0)
    print(min(ts), statistics.median(ts), min(cs), statistics.median(cs))
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script]
    if let disabling {
        p.environment = ProcessInfo.processInfo.environment.merging(["NPY_DISABLE_CPU_FEATURES": disabling]) { $1 }
    }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = Pipe()
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let s = String(data: data, encoding: .utf8) else { return nil }
    let v = s.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double(String($0)) }
    return v.count == 4 ? v : nil
}

func fmt(_ v: Double) -> String { String(format: "%.2f", v) }

/// numpy's AVX-512 dispatch targets (numpy 2.x names); turned off, numpy falls back to its AVX2 + FMA kernels.
let numpyAVX512Targets = "X86_V4,AVX512_ICL,AVX512_SPR"

func run<T>(_ c: Case, _ fill: (Int, inout SplitMix64) -> T,
            _ kernel: @escaping @Sendable (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>, ExpKernels.Path) -> Void) {
    let n = bytes / MemoryLayout<T>.stride
    let elements = n / c.elementScalars
    let x = UnsafeMutableBufferPointer<T>.allocate(capacity: n)
    let y = UnsafeMutableBufferPointer<T>.allocate(capacity: n)
    defer { x.deallocate(); y.deallocate() }
    var g = SplitMix64(seed: 20261202)
    for i in 0..<n { x[i] = fill(i, &g) }
    for i in 0..<n { y[i] = x[i] } // touch the pages
    // The in-cache case: the first 1 MiB of the same data, swept as many times as a stream has 1 MiB pieces.
    let cn = cacheBytes / MemoryLayout<T>.stride
    let sweeps = n / cn
    let cx = UnsafeMutableBufferPointer(rebasing: x[0..<cn]), cy = UnsafeMutableBufferPointer(rebasing: y[0..<cn])
    let ce = Double(cn / c.elementScalars)
    func rates(_ t: (best: Double, median: Double), _ e: Double) -> (Double, Double) { (e / t.best / 1e9, e / t.median / 1e9) }
    /// numpy's stream and cache rates, printed under `label`.
    func numpyRates(_ label: String, disabling: String? = nil) -> (stream: (Double, Double), cache: (Double, Double))? {
        guard let t = numpyTime(UnsafeRawBufferPointer(x), dtype: c.numpyDtype, cacheCount: sweeps, disabling: disabling)
        else {
            print("\(c.name) (\(elements) elements, \(bytes >> 20) MiB): \(label) n/a")
            return nil
        }
        let s = rates((t[0], t[1]), Double(elements)), k = rates((t[2], t[3]), ce)
        print("\(c.name) (\(elements) elements, \(bytes >> 20) MiB): \(label) stream \(fmt(s.0)) (median \(fmt(s.1))), cache \(fmt(k.0)) (median \(fmt(k.1)))")
        return (s, k)
    }
    // Per path, each round's ratios to numpy (best to best, median to median), stream and cache.
    var ratios: [ExpKernels.Path: [(stream: (Double, Double), cache: (Double, Double))]] = [:]
    for round in 1...rounds {
        if rounds > 1 { print("\(c.name) round \(round) of \(rounds), load average \(loadAverage())") }
        let numpy = numpyRates("numpy")
        // On an AVX-512 CPU numpy runs its AVX-512 kernels; the AVX2 path is also set beside numpy's AVX2 (X86_V3)
        // kernels, numpy's AVX-512 targets turned off, as numpy runs on a CPU without AVX-512.
        let numpyAVX2 = ExpKernels.availablePaths.contains(.avx512)
            ? numpyRates("numpy without AVX-512 (NPY_DISABLE_CPU_FEATURES=\(numpyAVX512Targets))", disabling: numpyAVX512Targets)
            : nil
        for path in ExpKernels.availablePaths {
            let reference = path == .avx2 ? numpyAVX2 ?? numpy : numpy
            let npStream = reference?.stream, npCache = reference?.cache
            let k: @Sendable (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void = { kernel($0, $1, path) }
            let (s1, s1m) = rates(measure(x, y, granule: c.elementScalars, threads: 1, count: reps, k), Double(elements))
            let (sa, sam) = rates(measure(x, y, granule: c.elementScalars, threads: cores, count: reps, k), Double(elements))
            let streamPar = parallelRuns
            let (c1, c1m) = rates(measure(cx, cy, granule: c.elementScalars, threads: 1, count: sweeps, k), ce)
            // Scaling in cache: runs of 16 sweeps (long enough for libdispatch to wake a worker), 1 thread vs all.
            let (l1, l1m) = rates(measure(cx, cy, granule: c.elementScalars, threads: 1, count: reps, sweeps: 16, k), 16 * ce)
            let (ca, cam) = rates(measure(cx, cy, granule: c.elementScalars, threads: cores, count: reps, sweeps: 16, k), 16 * ce)
            let cachePar = parallelRuns
            let against = path == .avx2 && numpyAVX2 != nil ? "numpy-avx2" : "numpy"
            if let npStream, let npCache {
                ratios[path, default: []].append(((s1 / npStream.0, s1m / npStream.1), (c1 / npCache.0, c1m / npCache.1)))
            }
            let sr = npStream.map { " = \(fmt(s1 / $0.0))x \(against) (medians \(fmt(s1m / $0.1))x)" } ?? ""
            let cr = npCache.map { " = \(fmt(c1 / $0.0))x \(against) (medians \(fmt(c1m / $0.1))x)" } ?? ""
            let name = path.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            print("  \(name) stream 1 thread \(fmt(s1)) (median \(fmt(s1m)))\(sr); \(cores) cores \(fmt(sa)) (median \(fmt(sam))) = \(fmt(sa / s1))x (medians \(fmt(sam / s1m))x), parallel in \(streamPar.parallel)/\(streamPar.total) runs")
            print("  \(name) cache  1 thread \(fmt(c1)) (median \(fmt(c1m)))\(cr)")
            print("  \(name) cache x16 1 thread \(fmt(l1)) (median \(fmt(l1m))); \(cores) cores \(fmt(ca)) (median \(fmt(cam))) = \(fmt(ca / l1))x (medians \(fmt(cam / l1m))x), parallel in \(cachePar.parallel)/\(cachePar.total) runs")
        }
    }
    guard rounds > 1 else { return }
    func med(_ v: [Double]) -> String { fmt(v.sorted()[v.count / 2]) }
    for path in ExpKernels.availablePaths {
        guard let r = ratios[path], !r.isEmpty else { continue }
        let against = path == .avx2 && ExpKernels.availablePaths.contains(.avx512) ? "numpy-avx2" : "numpy"
        print("\(c.name) \(path.rawValue), one thread, median over \(r.count) rounds of the ratio to \(against) measured in the round: stream \(med(r.map(\.stream.0)))x (medians \(med(r.map(\.stream.1)))x), cache \(med(r.map(\.cache.0)))x (medians \(med(r.map(\.cache.1)))x)")
    }
}

/// The input mix (see the header): shares of out-of-range and special inputs; the rest is N(0, 3).
struct Mix {
    var outOfRange = 0.05
    var specials = 0.05
    var text: String {
        "seeded inputs: \(fixed(100 * (1 - outOfRange - specials), 1))% N(0, 3), \(fixed(100 * outOfRange, 1))% beyond the overflow/underflow thresholds, \(fixed(100 * specials, 1))% specials (NaN, +-inf, +-0)"
    }

    /// One input for a format whose exp overflows above `over` and reaches zero / subnormals below `under`.
    func draw(_ g: inout SplitMix64, over: Double, under: Double) -> Double {
        let u = Double(g.next() >> 11) * 0x1p-53
        if u < specials {
            return [Double.nan, .infinity, -.infinity, 0, -0.0][Int(g.next() % 5)]
        }
        if u < specials + outOfRange {
            // half above the overflow threshold, half below the point where results turn subnormal
            return g.next() & 1 == 0 ? over + Double(g.next() % 1000) / 1000 * 0.3 * over
                                     : under - Double(g.next() % 1000) / 1000 * 0.3 * abs(under)
        }
        // Box-Muller: one normal deviate from two uniforms
        let u1 = max(Double(g.next() >> 11) * 0x1p-53, 0x1p-53), u2 = Double(g.next() >> 11) * 0x1p-53
        return 3 * (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}

/// The input mix, the number of rounds and the dtypes asked for (none: all).
func parseArguments() -> (Mix, Int, Set<String>) {
    var mix = Mix()
    var rounds = 1
    var wanted = Set<String>()
    var args = Array(CommandLine.arguments.dropFirst())
    while let a = args.first {
        args.removeFirst()
        if a == "--out-of-range" || a == "--specials", let v = args.first.flatMap(Double.init), v >= 0, v <= 1 {
            args.removeFirst()
            if a == "--out-of-range" { mix.outOfRange = v } else { mix.specials = v }
        } else if a == "--rounds", let v = args.first.flatMap(Int.init), v >= 1 {
            args.removeFirst()
            rounds = v
        } else if a.hasPrefix("--") {
            print("usage: exp-bench [--out-of-range P] [--specials P] [--rounds N] [float32|float64|float16|complex64|complex128 ...]")
            exit(64)
        } else {
            wanted.insert(a)
        }
    }
    if mix.outOfRange + mix.specials > 1 { print("exp-bench: shares add up to more than 1"); exit(64) }
    return (mix, rounds, wanted)
}
let (mix, rounds, wanted) = parseArguments()
func want(_ name: String) -> Bool { wanted.isEmpty || wanted.contains(name) }

// What starting the threads costs: concurrentPerform over empty slices.
let spawn = timeRuns { DispatchQueue.concurrentPerform(iterations: cores) { _ in } }
print("exp-bench: \(cores) cores, paths \(ExpKernels.availablePaths.map(\.rawValue)), default \(ExpKernels.defaultPath.rawValue), best and median of \(reps); Gelem/s")
print(RunInfo.header(tool: "exp-bench"))
print(mix.text)
print("load average before: \(loadAverage()); empty concurrentPerform(\(cores)): \(String(format: "%.1f", spawn.median * 1e6)) us median")
if want("float32") {
    run(Case(name: "float32", numpyDtype: "float32", elementScalars: 1), { _, g in Float(mix.draw(&g, over: 88.73, under: -87.34)) }) {
        ExpKernels.exp($0, into: $1, path: $2)
    }
}
if want("float64") {
    run(Case(name: "float64", numpyDtype: "float64", elementScalars: 1), { _, g in mix.draw(&g, over: 709.79, under: -708.4) }) {
        ExpKernels.exp($0, into: $1, path: $2)
    }
}
if want("float16") {
    run(Case(name: "float16", numpyDtype: "float16", elementScalars: 1), { _, g -> UInt16 in
        Float16(mix.draw(&g, over: 11.1, under: -9.71)).bitPattern
    }) { ExpKernels.exp(half: $0, into: $1, path: $2) }
}
if want("complex64") {
    run(Case(name: "complex64", numpyDtype: "complex64", elementScalars: 2), { _, g in Float(mix.draw(&g, over: 88.73, under: -87.34)) }) {
        ExpKernels.exp(complex: $0, into: $1, path: $2)
    }
}
if want("complex128") {
    run(Case(name: "complex128", numpyDtype: "complex128", elementScalars: 2), { _, g in mix.draw(&g, over: 709.79, under: -708.4) }) {
        ExpKernels.exp(complex: $0, into: $1, path: $2)
    }
}
print("load average after: \(loadAverage())")

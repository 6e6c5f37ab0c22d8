// exp-bench: throughput of the exp kernels (Gelem/s) per dtype and per available code path, next to numpy's np.exp
// on the same data in the same run (python3 subprocess, best and median of several runs) when python3 + numpy exist.
//   exp-bench [float32|float64|float16|complex64|complex128 ...]   (default: all)
// For each path: streaming over 64 MiB in-memory arrays (the brief's measure) on one thread and on all cores
// (DispatchQueue.concurrentPerform, one slice per core), and the same kernel in cache (a 1 MiB array swept
// repeatedly; on all cores each core sweeps its own half), which tells compute-bound from memory-bound scaling.
// Prints best and median of `reps` runs and the load average before and after: the machine is shared, so only
// ratios measured side by side in one run mean much. A benchmark, not a test.
import Dispatch
import ExpKernels
import Foundation

let bytes = 64 << 20
let cacheBytes = 1 << 20
let reps = 9
let cores = ProcessInfo.processInfo.activeProcessorCount

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func loadAverage() -> String {
    guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "n/a" }
    return s.split(separator: " ").prefix(3).joined(separator: " ")
}

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

/// Best and median seconds of `reps` runs of `body`.
func timeRuns(_ body: () -> Void) -> (best: Double, median: Double) {
    var ts: [Double] = []
    for _ in 0..<reps {
        let t0 = seconds()
        body()
        ts.append(seconds() - t0)
    }
    ts.sort()
    return (ts[0], ts[ts.count / 2])
}

/// Runs `kernel` over x -> y `sweeps` times, on one thread or split into one slice per thread.
func measure<T>(_ x: UnsafeMutableBufferPointer<T>, _ y: UnsafeMutableBufferPointer<T>, granule: Int, threads: Int,
                sweeps: Int,
                _ kernel: @escaping @Sendable (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void)
    -> (best: Double, median: Double) {
    let shared = Shared(x: x, y: y)
    if threads == 1 {
        return timeRuns {
            for _ in 0..<sweeps { kernel(UnsafeBufferPointer(shared.x), shared.y) }
        }
    }
    let per = (x.count / granule + threads - 1) / threads * granule
    return timeRuns {
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            let lo = min(i * per, shared.x.count), hi = min(lo + per, shared.x.count)
            guard lo < hi else { return }
            let xs = UnsafeBufferPointer(rebasing: shared.x[lo..<hi])
            let ys = UnsafeMutableBufferPointer(rebasing: shared.y[lo..<hi])
            for _ in 0..<sweeps { kernel(xs, ys) }
        }
    }
}

/// numpy np.exp on the same bytes: returns (best, median) seconds, or nil without python3/numpy.
func numpyTime(_ raw: UnsafeRawBufferPointer, dtype: String) -> (Double, Double)? {
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
    print(min(ts), statistics.median(ts))
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = Pipe()
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let s = String(data: data, encoding: .utf8) else { return nil }
    let v = s.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double(String($0)) }
    return v.count == 2 ? (v[0], v[1]) : nil
}

func fmt(_ v: Double) -> String { String(format: "%.2f", v) }

func run<T>(_ c: Case, _ fill: (Int, inout SystemRandomNumberGenerator) -> T,
            _ kernel: @escaping @Sendable (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>, ExpKernels.Path) -> Void) {
    let n = bytes / MemoryLayout<T>.stride
    let elements = n / c.elementScalars
    let x = UnsafeMutableBufferPointer<T>.allocate(capacity: n)
    let y = UnsafeMutableBufferPointer<T>.allocate(capacity: n)
    defer { x.deallocate(); y.deallocate() }
    var g = SystemRandomNumberGenerator()
    for i in 0..<n { x[i] = fill(i, &g) }
    for i in 0..<n { y[i] = x[i] } // touch the pages
    let np = numpyTime(UnsafeRawBufferPointer(x), dtype: c.numpyDtype)
    let npBest = np.map { Double(elements) / $0.0 / 1e9 }
    let npText = np.map { "numpy \(fmt(Double(elements) / $0.0 / 1e9)) (median \(fmt(Double(elements) / $0.1 / 1e9)))" }
        ?? "numpy n/a"
    print("\(c.name) (\(elements) elements, \(bytes >> 20) MiB): \(npText) Gelem/s")
    // The in-cache case: the first 1 MiB of the same data, swept often enough to move as many elements as a stream.
    let cn = cacheBytes / MemoryLayout<T>.stride
    let sweeps = n / cn
    let cx = UnsafeMutableBufferPointer(rebasing: x[0..<cn]), cy = UnsafeMutableBufferPointer(rebasing: y[0..<cn])
    for path in ExpKernels.availablePaths {
        let k: @Sendable (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void = { kernel($0, $1, path) }
        func rate(_ t: (best: Double, median: Double)) -> (Double, Double) {
            (Double(elements) / t.best / 1e9, Double(elements) / t.median / 1e9)
        }
        let (s1, s1m) = rate(measure(x, y, granule: c.elementScalars, threads: 1, sweeps: 1, k))
        let (sa, sam) = rate(measure(x, y, granule: c.elementScalars, threads: cores, sweeps: 1, k))
        let (c1, c1m) = rate(measure(cx, cy, granule: c.elementScalars, threads: 1, sweeps: sweeps, k))
        let (ca, cam) = rate(measure(cx, cy, granule: c.elementScalars, threads: cores, sweeps: sweeps, k))
        let ratio = npBest.map { " = \(fmt(s1 / $0))x numpy" } ?? ""
        let name = path.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
        print("  \(name) stream: 1 thread \(fmt(s1)) (median \(fmt(s1m)))\(ratio); \(cores) cores \(fmt(sa)) (median \(fmt(sam))) = \(fmt(sa / s1))x")
        print("  \(name) cache:  1 thread \(fmt(c1)) (median \(fmt(c1m))); \(cores) cores \(fmt(ca)) (median \(fmt(cam))) = \(fmt(ca / c1))x")
    }
}

let wanted = Set(CommandLine.arguments.dropFirst())
func want(_ name: String) -> Bool { wanted.isEmpty || wanted.contains(name) }

// What starting the threads costs: concurrentPerform over empty slices.
let spawn = timeRuns { DispatchQueue.concurrentPerform(iterations: cores) { _ in } }
print("exp-bench: \(cores) cores, paths \(ExpKernels.availablePaths.map(\.rawValue)), default \(ExpKernels.defaultPath.rawValue), best and median of \(reps); Gelem/s")
print("load average before: \(loadAverage()); empty concurrentPerform(\(cores)): \(String(format: "%.1f", spawn.median * 1e6)) us median")
if want("float32") {
    run(Case(name: "float32", numpyDtype: "float32", elementScalars: 1), { _, g in Float.random(in: -20...20, using: &g) }) {
        ExpKernels.exp($0, into: $1, path: $2)
    }
}
if want("float64") {
    run(Case(name: "float64", numpyDtype: "float64", elementScalars: 1), { _, g in Double.random(in: -20...20, using: &g) }) {
        ExpKernels.exp($0, into: $1, path: $2)
    }
}
if want("float16") {
    run(Case(name: "float16", numpyDtype: "float16", elementScalars: 1), { _, g -> UInt16 in
        // halves in [-8, 8]: sign, exponent 0..17 (below 2^3), random mantissa
        UInt16.random(in: 0...1, using: &g) << 15 | UInt16.random(in: 1...17, using: &g) << 10 | UInt16.random(in: 0...1023, using: &g)
    }) { ExpKernels.exp(half: $0, into: $1, path: $2) }
}
if want("complex64") {
    run(Case(name: "complex64", numpyDtype: "complex64", elementScalars: 2), { _, g in Float.random(in: -20...20, using: &g) }) {
        ExpKernels.exp(complex: $0, into: $1, path: $2)
    }
}
if want("complex128") {
    run(Case(name: "complex128", numpyDtype: "complex128", elementScalars: 2), { _, g in Double.random(in: -20...20, using: &g) }) {
        ExpKernels.exp(complex: $0, into: $1, path: $2)
    }
}
print("load average after: \(loadAverage())")

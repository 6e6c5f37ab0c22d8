// exp-bench: throughput of the exp kernels (Gelem/s) per dtype and per available code path, on one thread and on
// all cores (DispatchQueue.concurrentPerform over slices), next to numpy's np.exp on the same data in the same run
// (python3 subprocess, best and median of several runs) when python3 + numpy exist. 64 MiB in-memory arrays.
// A benchmark, not a test: numbers depend on the machine and its load.
import Dispatch
import ExpKernels
import Foundation

let bytes = 64 << 20
let reps = 7
let cores = ProcessInfo.processInfo.activeProcessorCount

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
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

/// Best of `reps` runs of `body`, in seconds.
func best(_ body: () -> Void) -> Double {
    var b = Double.infinity
    for _ in 0..<reps {
        let t0 = seconds()
        body()
        b = min(b, seconds() - t0)
    }
    return b
}

func measure<T>(_ x: UnsafeMutableBufferPointer<T>, _ y: UnsafeMutableBufferPointer<T>, granule: Int,
                threads: Int, _ kernel: @escaping @Sendable (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void) -> Double {
    let shared = Shared(x: x, y: y)
    if threads == 1 {
        return best { kernel(UnsafeBufferPointer(shared.x), shared.y) }
    }
    let slices = threads * 8
    let per = (x.count / granule + slices - 1) / slices * granule
    return best {
        DispatchQueue.concurrentPerform(iterations: slices) { i in
            let lo = min(i * per, shared.x.count), hi = min(lo + per, shared.x.count)
            guard lo < hi else { return }
            kernel(UnsafeBufferPointer(rebasing: shared.x[lo..<hi]), UnsafeMutableBufferPointer(rebasing: shared.y[lo..<hi]))
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
    let npText = np.map { "numpy \(fmt(Double(elements) / $0.0 / 1e9)) (median \(fmt(Double(elements) / $0.1 / 1e9)))" } ?? "numpy n/a"
    print("\(c.name) (\(elements) elements, \(bytes >> 20) MiB): \(npText) Gelem/s")
    for path in ExpKernels.availablePaths {
        let one = measure(x, y, granule: c.elementScalars, threads: 1) { kernel($0, $1, path) }
        let all = measure(x, y, granule: c.elementScalars, threads: cores) { kernel($0, $1, path) }
        let g1 = Double(elements) / one / 1e9, ga = Double(elements) / all / 1e9
        let ratio = np.map { " = \(fmt(g1 / (Double(elements) / $0.0 / 1e9)))x numpy" } ?? ""
        print("  \(path.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) 1 thread \(fmt(g1)) Gelem/s\(ratio); \(cores) cores \(fmt(ga)) Gelem/s = \(fmt(ga / g1))x one thread")
    }
}

print("exp-bench: \(cores) cores, paths \(ExpKernels.availablePaths.map(\.rawValue)), default \(ExpKernels.defaultPath.rawValue), best of \(reps)")
run(Case(name: "float32", numpyDtype: "float32", elementScalars: 1), { _, g in Float.random(in: -20...20, using: &g) }) {
    ExpKernels.exp($0, into: $1, path: $2)
}
run(Case(name: "float64", numpyDtype: "float64", elementScalars: 1), { _, g in Double.random(in: -20...20, using: &g) }) {
    ExpKernels.exp($0, into: $1, path: $2)
}
run(Case(name: "float16", numpyDtype: "float16", elementScalars: 1), { _, g -> UInt16 in
    // halves in [-8, 8]: sign, exponent 0..17 (below 2^3), random mantissa
    UInt16.random(in: 0...1, using: &g) << 15 | UInt16.random(in: 1...17, using: &g) << 10 | UInt16.random(in: 0...1023, using: &g)
}) { ExpKernels.exp(half: $0, into: $1, path: $2) }
run(Case(name: "complex64", numpyDtype: "complex64", elementScalars: 2), { _, g in Float.random(in: -20...20, using: &g) }) {
    ExpKernels.exp(complex: $0, into: $1, path: $2)
}
run(Case(name: "complex128", numpyDtype: "complex128", elementScalars: 2), { _, g in Double.random(in: -20...20, using: &g) }) {
    ExpKernels.exp(complex: $0, into: $1, path: $2)
}

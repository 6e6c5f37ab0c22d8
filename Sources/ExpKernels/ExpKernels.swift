// ExpKernels: the Swift face of the C exp kernels (CExpKernels). Picks a vector code path at run time and checks
// buffer contracts; the math lives in C.
//
// Why C: measured on this project's machines, pure Swift SIMD compiled for baseline x86-64 reaches ~1.4 Gelem/s;
// `-target-cpu` raises that but applies to the whole module and the binary then faults on older CPUs (no run-time
// dispatch); glibc libmvec passes vectors by a CPU-dependent ABI. A C target with one kernel body compiled three
// times under `target(...)` attributes (baseline, AVX2+FMA+F16C, AVX-512) and chosen with __builtin_cpu_supports
// runs everywhere and uses the widest unit present. Accuracy: float32 / float16 correctly rounded, float64 < 0.52
// ulp, on every path (see Sources/CExpKernels/kernel_types.h for the error analysis).
import CExpKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise exp and its gradient over raw buffers, for float16 (as bits), float32, float64, complex64/128.
public enum ExpKernels {
    /// A vector code path.
    public enum Path: String, CaseIterable, Sendable {
        case baseline, avx2, avx512

        var code: Int32 {
            switch self {
            case .baseline: return Int32(NPYEXP_PATH_BASELINE)
            case .avx2: return Int32(NPYEXP_PATH_AVX2)
            case .avx512: return Int32(NPYEXP_PATH_AVX512)
            }
        }
    }

    private static let availableMask: Int32 = npyexp_available_paths()

    /// The paths this CPU supports, narrowest first.
    public static var availablePaths: [Path] {
        Path.allCases.filter { availableMask & (1 << $0.code) != 0 }
    }

    private static let chosenPath: Path = {
        let paths = availablePaths
        if let raw = getenvString("NPYEXP_KERNEL"), let p = Path(rawValue: raw), paths.contains(p) {
            return p
        }
        return paths.last ?? .baseline
    }()

    /// NPYEXP_KERNEL if set and available, else the best available path.
    public static var defaultPath: Path { chosenPath }

    private static func getenvString(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }

    @inline(__always)
    private static func check(_ path: Path, _ a: Int, _ b: Int, _ what: @autoclosure () -> String) {
        precondition(a == b, what())
        precondition(availableMask & (1 << path.code) != 0, "ExpKernels: path \(path.rawValue) not supported by this CPU")
    }

    /// exp of every float32 in `x`, correctly rounded, into `y` (same count; may be the same memory).
    public static func exp(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>, path: Path = defaultPath) {
        check(path, x.count, y.count, "ExpKernels.exp: counts differ")
        guard let xp = x.baseAddress, let yp = y.baseAddress else { return }
        npyexp_exp_f32(xp, yp, x.count, path.code)
    }

    /// exp of every float64 in `x` (within 0.512 ulp), into `y` (same count; may be the same memory).
    public static func exp(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>, path: Path = defaultPath) {
        check(path, x.count, y.count, "ExpKernels.exp: counts differ")
        guard let xp = x.baseAddress, let yp = y.baseAddress else { return }
        npyexp_exp_f64(xp, yp, x.count, path.code)
    }

    /// binary16 as raw bits (Float16 is not available everywhere)
    public static func exp(half x: UnsafeBufferPointer<UInt16>, into y: UnsafeMutableBufferPointer<UInt16>, path: Path = defaultPath) {
        check(path, x.count, y.count, "ExpKernels.exp: counts differ")
        guard let xp = x.baseAddress, let yp = y.baseAddress else { return }
        npyexp_exp_f16(xp, yp, x.count, path.code)
    }

    /// interleaved (re, im) pairs; count is 2 * number of complex elements
    public static func exp(complex x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>, path: Path = defaultPath) {
        check(path, x.count, y.count, "ExpKernels.exp: counts differ")
        precondition(x.count % 2 == 0, "ExpKernels.exp(complex:): odd count")
        guard let xp = x.baseAddress, let yp = y.baseAddress else { return }
        npyexp_exp_c64(xp, yp, x.count, path.code)
    }

    /// interleaved (re, im) pairs; count is 2 * number of complex elements
    public static func exp(complex x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>, path: Path = defaultPath) {
        check(path, x.count, y.count, "ExpKernels.exp: counts differ")
        precondition(x.count % 2 == 0, "ExpKernels.exp(complex:): odd count")
        guard let xp = x.baseAddress, let yp = y.baseAddress else { return }
        npyexp_exp_c128(xp, yp, x.count, path.code)
    }

    /// grad * result, element-wise (in place allowed: into may alias grad or result)
    public static func backward(result: UnsafeBufferPointer<Float>, grad: UnsafeBufferPointer<Float>, into: UnsafeMutableBufferPointer<Float>) {
        check(defaultPath, result.count, grad.count, "ExpKernels.backward: counts differ")
        precondition(into.count == result.count, "ExpKernels.backward: counts differ")
        guard let r = result.baseAddress, let g = grad.baseAddress, let o = into.baseAddress else { return }
        npyexp_backward_f32(r, g, o, result.count, defaultPath.code)
    }

    /// grad * result, element-wise (in place allowed: into may alias grad or result)
    public static func backward(result: UnsafeBufferPointer<Double>, grad: UnsafeBufferPointer<Double>, into: UnsafeMutableBufferPointer<Double>) {
        check(defaultPath, result.count, grad.count, "ExpKernels.backward: counts differ")
        precondition(into.count == result.count, "ExpKernels.backward: counts differ")
        guard let r = result.baseAddress, let g = grad.baseAddress, let o = into.baseAddress else { return }
        npyexp_backward_f64(r, g, o, result.count, defaultPath.code)
    }

    /// grad * result for binary16 bits: the product of two halves is exact in float32 and is rounded once to half
    /// (what torch does, and here it is also the correctly rounded product).
    public static func backward(halfResult: UnsafeBufferPointer<UInt16>, grad: UnsafeBufferPointer<UInt16>, into: UnsafeMutableBufferPointer<UInt16>) {
        check(defaultPath, halfResult.count, grad.count, "ExpKernels.backward: counts differ")
        precondition(into.count == halfResult.count, "ExpKernels.backward: counts differ")
        guard let r = halfResult.baseAddress, let g = grad.baseAddress, let o = into.baseAddress else { return }
        npyexp_backward_f16(r, g, o, halfResult.count, defaultPath.code)
    }

    /// grad * conj(result), interleaved pairs
    public static func backward(complexResult: UnsafeBufferPointer<Float>, grad: UnsafeBufferPointer<Float>, into: UnsafeMutableBufferPointer<Float>) {
        check(defaultPath, complexResult.count, grad.count, "ExpKernels.backward: counts differ")
        precondition(into.count == complexResult.count && into.count % 2 == 0, "ExpKernels.backward: bad counts")
        guard let r = complexResult.baseAddress, let g = grad.baseAddress, let o = into.baseAddress else { return }
        npyexp_backward_c64(r, g, o, complexResult.count, defaultPath.code)
    }

    /// grad * conj(result), interleaved pairs
    public static func backward(complexResult: UnsafeBufferPointer<Double>, grad: UnsafeBufferPointer<Double>, into: UnsafeMutableBufferPointer<Double>) {
        check(defaultPath, complexResult.count, grad.count, "ExpKernels.backward: counts differ")
        precondition(into.count == complexResult.count && into.count % 2 == 0, "ExpKernels.backward: bad counts")
        guard let r = complexResult.baseAddress, let g = grad.baseAddress, let o = into.baseAddress else { return }
        npyexp_backward_c128(r, g, o, complexResult.count, defaultPath.code)
    }

    /// How many values are NaN, +inf and zero (either sign) among `values`.
    public static func classify(_ values: UnsafeBufferPointer<Float>) -> (nan: Int, infinity: Int, zero: Int) {
        classify(values, npyexp_classify_f32)
    }

    /// How many values are NaN, +inf and zero (either sign) among `values`.
    public static func classify(_ values: UnsafeBufferPointer<Double>) -> (nan: Int, infinity: Int, zero: Int) {
        classify(values, npyexp_classify_f64)
    }

    private static func classify<F>(
        _ values: UnsafeBufferPointer<F>, _ count: (UnsafePointer<F>, Int, UnsafeMutablePointer<UInt64>) -> Void
    ) -> (nan: Int, infinity: Int, zero: Int) {
        guard let base = values.baseAddress else { return (0, 0, 0) }
        var counts = [UInt64](repeating: 0, count: 3)
        count(base, values.count, &counts)
        return (Int(counts[0]), Int(counts[1]), Int(counts[2]))
    }

    /// How many of `values` are at least `threshold` (NaN never is).
    public static func count(_ values: UnsafeBufferPointer<Float>, atLeast threshold: Float) -> Int {
        guard let base = values.baseAddress else { return 0 }
        return Int(npyexp_count_at_least_f32(base, values.count, threshold))
    }
}

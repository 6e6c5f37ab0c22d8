// ToolSupport: what the developer tools (exp-accuracy, exp-bench) share and the product does not need: a seeded
// generator, a monotonic clock, fixed-point text without Foundation, and the facts a results file must record so its
// numbers can be traced (commit, build, CPU model, load). Not part of any product.
// Relies on: Glibc (popen for git, /proc for the CPU model and load average).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SplitMix64: a tiny deterministic generator, so a tool's "random" inputs are the same in every run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state; any value is a valid seed.
    public var state: UInt64
    /// A generator that starts from `seed`.
    public init(seed: UInt64) { state = seed }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// `v` with `digits` decimals, rounded to nearest (no Foundation).
public func fixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return String(v) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = Int((abs(v) * scale).rounded())
    let whole = r / Int(scale), part = r % Int(scale)
    var fraction = String(part)
    while fraction.count < digits { fraction = "0" + fraction }
    return (v < 0 && r != 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + fraction : "")
}

/// The facts that make a results file traceable: where the numbers came from and under what load.
public enum RunInfo {
    /// The first line of `command`'s standard output, or nil.
    static func firstLine(of command: String) -> String? {
        guard let f = popen(command, "r") else { return nil }
        defer { pclose(f) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, Int32(buffer.count), f) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return line.hasSuffix("\n") ? String(line.dropLast()) : line
    }

    /// The git commit of the current directory's work tree, with "+dirty" when tracked files differ from it.
    public static var commit: String {
        guard let id = firstLine(of: "git rev-parse HEAD 2>/dev/null") else { return "unknown (not in a git work tree)" }
        let dirty = firstLine(of: "git status --porcelain --untracked-files=no 2>/dev/null") != nil
        return id + (dirty ? "+dirty" : "")
    }

    /// How this binary was built (Swift optimisation; the C kernels follow SwiftPM's configuration: -O2 in release,
    /// -O0 in debug; their floating-point mode is fixed by pragmas in the sources).
    public static var build: String {
        #if DEBUG
        return "debug (swift -Onone, C -O0)"
        #else
        return "release (swift -O, C -O2)"
        #endif
    }

    /// The CPU model from /proc/cpuinfo.
    public static var cpuModel: String {
        firstLine(of: "grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'") ?? "unknown"
    }

    /// The 1, 5 and 15 minute load averages.
    public static var loadAverage: String {
        firstLine(of: "cut -d' ' -f1-3 /proc/loadavg 2>/dev/null") ?? "n/a"
    }

    /// One line naming commit, build, CPU model, online cores and load: print it at the top of every results file.
    public static func header(tool: String) -> String {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return "\(tool): commit \(commit); build \(build); CPU \(cpuModel), \(cores) cores; load average \(loadAverage)"
    }
}

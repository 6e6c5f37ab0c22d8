// Configuration: everything a run needs to know, built by the CLI (or a Swift program) and handed to the pipeline
// and the batch runner unchanged. Relies on Glibc (sysconf, clock_gettime) and Synchronization.Mutex.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Which container the outputs use.
public enum ContainerChoice: String, Sendable {
    /// gzip output for gzip input, plain .npy for plain input.
    case followInput
    /// Always gzip.
    case gzip
    /// Always plain .npy.
    case plain
}

/// Everything the pipeline needs to know; built by the CLI or by a Swift program.
public struct ExpConfiguration: Sendable {
    /// Output dtype for real inputs (nil: torch.exp's rules).
    public var outputType: ComputeType?
    /// How integer and bool inputs are promoted when `outputType` is nil: torch's float32, or numpy's by width.
    public var promotion: Promotion = .torch
    /// The output container.
    public var container: ContainerChoice = .followInput
    /// zlib level 0-9.
    public var level = 6
    /// How the deflate strategy is chosen.
    public var strategy: StrategyChoice = .auto
    /// Threads used inside one input (exp and deflate).
    public var jobs = ExpConfiguration.availableCores
    /// Bytes of elements handled per step; bounds memory.
    public var chunkBytes = 4 << 20
    /// Chunks a large input's reader thread may run ahead of exp and deflate (each `chunkBytes`); a batch that runs
    /// several large inputs at once uses fewer, so its peak memory stays bounded (see `BatchRunner`).
    public var readAheadChunks = 3
    /// A large compressed output's batches are hashed and written on a thread of their own while the next batch is
    /// deflated (one more batch of compressed blocks in memory); a batch that runs several large inputs at once
    /// turns it off, as the other inputs keep the cores busy and the memory stays bounded (see `BatchRunner`).
    public var writeBehind = true
    /// Uncompressed bytes per gzip member of the output.
    public var blockSize = 1 << 20
    /// Outputs go below this directory; nil puts each beside its input as NAME.exp.npy[.gz].
    public var outputDirectory: String?
    /// Redo outputs that are already complete.
    public var force = false
    /// fsync outputs and their directories before reporting success.
    public var durable = true
    /// Also compute the SHA-256 of each uncompressed output payload (for manifests).
    public var hashPayload = false
    /// Inputs processed at the same time (default: `jobs`); many small files then share the cores.
    public var fileConcurrency: Int?
    /// Counts input bytes as they are read, for progress displays.
    public var progress: ProgressCounter?

    /// The defaults: torch's dtypes, container as the input, level 6, automatic strategy, all cores.
    public init() {}

    /// Cores online, asked once per process (sysconf reads /sys on every call, and every job needs it).
    public static var availableCores: Int { onlineCores }

    private static let onlineCores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// The largest `jobs` accepted: more threads than this only cost memory.
    public static let maximumJobs = 1024
}

/// Input bytes read so far across all inputs; safe to read from another thread (a progress display).
public final class ProgressCounter: Sendable {
    private let bytes = Mutex<Int>(0)
    /// A counter at zero.
    public init() {}
    /// Bytes read so far.
    public var inputBytesRead: Int { bytes.withLock { $0 } }
    func add(_ n: Int) { bytes.withLock { $0 += n } }
}

/// Monotonic seconds, for durations in reports.
public enum Clock {
    /// Seconds since an arbitrary fixed point.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

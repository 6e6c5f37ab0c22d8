// Pipeline: the library's entry point. For each input it chains the stages (Reader -> Transform -> Writer), writes
// the output and its `.sha256` sidecar atomically, and reports what happened; a failure in one input never stops the
// others. The CLI is a thin layer over `ExpPipeline`. Relies on the other files of this module.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Dispatch
import Gzip
import NPYFormat
import Synchronization

/// Which container the outputs use.
public enum ContainerChoice: String, Sendable {
    /// gzip output for gzip input, plain .npy for plain input.
    case followInput
    case gzip
    case plain
}

/// Everything the pipeline needs to know; built by the CLI or by a Swift program.
public struct ExpConfiguration: Sendable {
    /// Output dtype for real inputs (nil: torch.exp's rules).
    public var outputType: ComputeType?
    public var container: ContainerChoice = .followInput
    /// zlib level 0-9.
    public var level = 6
    public var strategy: StrategyChoice = .auto
    /// Threads used inside one input (exp and deflate).
    public var jobs = ExpConfiguration.availableCores
    /// Bytes of elements handled per step; bounds memory.
    public var chunkBytes = 4 << 20
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

    public init() {}

    public static var availableCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

/// What happened to one input.
public struct FileReport: Sendable {
    public enum Status: Sendable, Equatable {
        case done
        /// The output was already complete (its checksum verified).
        case skipped
        case failed(NPYExpError)
    }

    public var input: InputItem
    public var outputPath: String?
    public var status: Status
    public var inputDType: NPYDType?
    public var outputDType: NPYDType?
    public var shape: [Int]?
    public var outputBytes = 0
    public var outputSHA256: String?
    public var inputBytes = 0
    /// SHA-256 of the input file's bytes as read.
    public var inputSHA256: String?
    /// SHA-256 of the uncompressed output (header and data), when `hashPayload` was set.
    public var payloadSHA256: String?
    public var elementCount = 0
    public var counts = ResultCounts()
    public var seconds = 0.0
    /// Temporaries written but not yet renamed (group commit in `processAll`).
    var pendingRenames: [PendingRename] = []
    /// The input, kept open (and so flocked) until its group commit, so that an overlapping run waits for the
    /// renamed output instead of redoing it.
    var heldInput: UncheckedBox<AnyObject>?
    /// Where the input stands in `processAll`'s list.
    var position = 0

    /// Another run held the input's lock; `processAll` comes back to it.
    var inputWasBusy: Bool { error?.message == InputBusy.message }

    public var error: NPYExpError? {
        if case .failed(let e) = status { return e }
        return nil
    }
}

/// Applies exp to .npy / .npy.gz inputs and writes checksummed outputs.
public final class ExpPipeline: Sendable {
    public let configuration: ExpConfiguration

    public init(_ configuration: ExpConfiguration) {
        self.configuration = configuration
    }

    /// The output path for an input whose container is `container`.
    public func outputPath(for item: InputItem, inputContainer container: Container, suffix: String = "exp") -> String {
        let gzip = outputIsGzip(container)
        let name = PathTools.split(item.relativePath).1
        let stem = Self.stem(name)
        if let dir = configuration.outputDirectory {
            let (relDir, _) = PathTools.split(item.relativePath)
            let sameContainer = (container == .gzip) == gzip
            let fileName = sameContainer ? name : stem + (gzip ? ".npy.gz" : ".npy")
            return PathTools.join(PathTools.join(dir, relDir == "." ? "" : relDir), fileName)
        }
        let (dir, _) = PathTools.split(item.path)
        return PathTools.join(dir, stem + (gzip ? ".\(suffix).npy.gz" : ".\(suffix).npy"))
    }

    func outputIsGzip(_ input: Container) -> Bool {
        switch configuration.container {
        case .followInput: return input == .gzip
        case .gzip: return true
        case .plain: return false
        }
    }

    /// The name without its .npy / .npy.gz / .gz ending.
    static func stem(_ name: String) -> String {
        for suffix in [".npy.gz", ".npy", ".gz"] where name.hasSuffix(suffix) && name.count > suffix.count {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    /// Processes one input to its output file (or to standard output when `toStandardOutput`).
    public func process(_ item: InputItem, toStandardOutput: Bool = false) -> FileReport {
        process(item, toStandardOutput: toStandardOutput, deferCommit: false)
    }

    func process(_ item: InputItem, toStandardOutput: Bool, deferCommit: Bool) -> FileReport {
        var report = FileReport(input: item, status: .done)
        let started = Clock.now()
        do {
            try run(item, toStandardOutput: toStandardOutput, deferCommit: deferCommit, report: &report)
        } catch let e as NPYExpError {
            report.status = .failed(e)
        } catch {
            report.status = .failed(Self.describe(error, path: item.path))
        }
        report.seconds = Clock.now() - started
        return report
    }

    /// Maps the stages' errors to one line naming the input.
    static func describe(_ error: any Error, path: String) -> NPYExpError {
        NPYExpError(wrapping: error, path: path)
    }

    private func run(_ item: InputItem, toStandardOutput: Bool, deferCommit: Bool, report: inout FileReport) throws {
        let file =
            item.isStandardInput
            ? InputFile(standardInput: ()) : try InputFile(path: item.path, wait: !deferCommit)
        // The input's flock must outlive the sidecar write, or an overlapping run could see the output half-done.
        defer { withExtendedLifetime(file) {} }
        file.progress = configuration.progress
        let reader = InputReader(file: file, jobs: configuration.jobs)
        let container = try reader.detect()
        let gzip = outputIsGzip(container)

        let destination: OutputDestination
        var atomic: AtomicFile?
        if toStandardOutput || item.isStandardInput && configuration.outputDirectory == nil {
            destination = OutputDestination(standardOutput: ())
        } else {
            let out = outputPath(for: item, inputContainer: container)
            report.outputPath = out
            if let dir = configuration.outputDirectory {
                try PathTools.checkStaysInside(relativePath: item.relativePath, outputDirectory: dir, input: item.path)
            }
            try refuseOverwritingInput(item.path, out)
            if !configuration.force,
                let digest = Checksums.completeOutputDigest(out, input: file, recipe: recipe(gzip: gzip))
            {
                report.status = .skipped
                report.outputSHA256 = digest
                return
            }
            let f = try createOutput(out)
            atomic = f
            destination = OutputDestination(file: f)
        }
        do {
            let payload = makePayload(destination, gzip: gzip)
            let transform = ExpTransform(
                requested: configuration.outputType, jobs: configuration.jobs,
                chunkBytes: configuration.chunkBytes, sink: payload)
            if configuration.hashPayload { transform.hashPayload() }
            // Small inputs are not worth a second thread; large ones inflate one chunk ahead of exp and deflate.
            let small = (file.identity?.size ?? Int.max) < 2 * configuration.chunkBytes
            if small || configuration.jobs == 1 {
                try reader.run { try transform.consume($0) }
            } else {
                try reader.runOverlapped(depth: 3, chunkBytes: configuration.chunkBytes) { try transform.consume($0) }
            }
            try transform.finish()
            report.inputSHA256 = file.digest()
            report.payloadSHA256 = transform.payloadDigest()
            report.elementCount = transform.elementCount
            report.counts = transform.counts
            report.inputDType = transform.header?.dtype
            report.outputDType = transform.computeType?.dtype
            report.shape = transform.header?.shape
            report.inputBytes = reader.compressedBytes
            report.outputBytes = destination.byteCount
            let digest = destination.digest()
            report.outputSHA256 = digest
            if let atomic {
                let source = file.identity.map {
                    Provenance(
                        size: $0.size, mtimeNanoseconds: $0.mtimeNanoseconds, sha256: report.inputSHA256 ?? "",
                        recipe: recipe(gzip: gzip))
                }
                if deferCommit {
                    let output = try atomic.closeForGroupCommit()
                    let sidecar = try AtomicFile(finalPath: Checksums.sidecarPath(for: atomic.finalPath))
                    do {
                        let text = Checksums.line(digest: digest, name: PathTools.split(atomic.finalPath).1)
                            + (source?.line ?? "")
                        try Array(text.utf8).withUnsafeBytes { try sidecar.write($0) }
                        report.pendingRenames = [output, try sidecar.closeForGroupCommit()]
                        report.heldInput = UncheckedBox(file)
                    } catch {
                        sidecar.abandon()
                        unlink(output.temporary)
                        TemporaryFiles.unregister(output.temporary)
                        throw error
                    }
                } else {
                    try atomic.commit(sync: configuration.durable)
                    try Checksums.writeSidecar(
                        for: atomic.finalPath, digest: digest, provenance: source, durable: configuration.durable)
                    if configuration.durable { try PathTools.syncDirectory(PathTools.split(atomic.finalPath).0) }
                }
            }
        } catch {
            atomic?.abandon()
            throw Self.describe(error, path: item.path)
        }
    }

    /// The encoder for an output: block-framed gzip deflated on all cores, or plain bytes.
    func makePayload(_ destination: OutputDestination, gzip: Bool) -> PayloadSink {
        gzip
            ? BlockGzipPayload(
                destination, level: configuration.level, strategy: configuration.strategy,
                blockSize: configuration.blockSize, jobs: configuration.jobs)
            : PlainPayload(destination)
    }

    /// The temporary file for `path`, its directories created as needed.
    func createOutput(_ path: String) throws -> AtomicFile {
        try PathTools.makeDirectories(PathTools.split(path).0)
        return try AtomicFile(finalPath: path)
    }

    /// The options that shape an output's bytes; an output made with other options is redone.
    func recipe(gzip: Bool) -> String {
        let strategy: String
        switch configuration.strategy {
        case .auto: strategy = "auto"
        case .fixed(let s): strategy = s.rawValue
        }
        let dtype = configuration.outputType?.rawValue ?? "auto"
        return gzip
            ? "dtype=\(dtype),gzip,level=\(configuration.level),strategy=\(strategy),block=\(configuration.blockSize)"
            : "dtype=\(dtype),plain"
    }

    /// Processes `items`, several at a time, calling `onReport` (one call at a time) as each finishes.
    /// Returns the reports in input order. With `stopAfterFailure`, inputs not yet started after a failure are
    /// left out of the result.
    public func processAll(
        _ items: [InputItem], stopAfterFailure: Bool = false, onReport: @escaping @Sendable (FileReport) -> Void = { _ in }
    ) -> [FileReport] {
        let state = Mutex<(next: Int, failed: Bool, reports: [FileReport?])>(
            (0, false, Array(repeating: nil, count: items.count)))
        let callback = Mutex<Void>(())
        let busy = Mutex<[Int]>([])
        let workers = max(1, min(configuration.fileConcurrency ?? configuration.jobs, items.count))
        // Many outputs: commit them in groups (two syncfs per batch instead of three fsyncs per file).
        let group = items.count > 1 && configuration.durable ? CommitGroup() : nil
        let publish: @Sendable ([FileReport]) -> Void = { reports in
            state.withLock { s in
                for r in reports {
                    s.reports[r.position] = r
                    if r.error != nil { s.failed = true }
                }
            }
            callback.withLock { _ in reports.forEach(onReport) }
        }
        let work: @Sendable (Int) -> Void = { _ in
            while true {
                let index: Int? = state.withLock { s in
                    if s.next >= items.count || (stopAfterFailure && s.failed) { return nil }
                    s.next += 1
                    return s.next - 1
                }
                guard let index else { return }
                var report = self.process(items[index], toStandardOutput: false, deferCommit: group != nil)
                report.position = index
                if report.inputWasBusy {
                    // Another run holds it: come back to it once this run holds no locks (no deadlock).
                    busy.withLock { $0.append(index) }
                    continue
                }
                if let group, !report.pendingRenames.isEmpty {
                    publish(group.add(report))
                } else {
                    publish([report])
                }
            }
        }
        Parallel.run(workers, jobs: workers, work)
        if let group { publish(group.flush()) }
        // Inputs another run was holding: wait for each in turn, holding nothing else; usually its output is now
        // complete and is skipped.
        for index in busy.withLock({ $0.sorted() }) where !(stopAfterFailure && state.withLock { $0.failed }) {
            var report = process(items[index], toStandardOutput: false, deferCommit: false)
            report.position = index
            publish([report])
        }
        return state.withLock { $0.reports.compactMap { $0 } }
    }

    /// An output must never replace its own input.
    func refuseOverwritingInput(_ input: String, _ output: String) throws {
        guard let a = PathTools.realPath(input) else { return }
        let (dir, name) = PathTools.split(output)
        if let d = PathTools.realPath(dir), PathTools.join(d, name) == a {
            throw NPYExpError(path: input, "output path is the input itself: \(output)", category: .usage)
        }
    }
}

/// Wall-clock seconds for reports.
enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Input bytes read so far across all inputs; safe to read from another thread (a progress display).
public final class ProgressCounter: Sendable {
    private let bytes = Mutex<Int>(0)
    public init() {}
    public var inputBytesRead: Int { bytes.withLock { $0 } }
    func add(_ n: Int) { bytes.withLock { $0 += n } }
}

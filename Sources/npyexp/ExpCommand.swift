// The default command: `npyexp [OPTIONS] INPUT...`. Validates the options, expands the inputs (arguments and
// --files-from), keeps this shard's share (--shard), runs the pipeline on each with a progress line when stderr is a
// terminal, reports failures one line each, and writes the run's manifest and SHA256SUMS file when asked.
// Relies on swift-argument-parser and NPYExp.
import ArgumentParser
import NPYExp

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension ComputeType: ExpressibleByArgument {}

/// Output dtype choices for `--dtype`.
enum RealDType: String, ExpressibleByArgument, CaseIterable {
    case float16, float32, float64
    var computeType: ComputeType { ComputeType(rawValue: rawValue)! }
}

/// deflate strategy choices for `--strategy`.
enum StrategyOption: String, ExpressibleByArgument, CaseIterable {
    case auto, `default`, filtered, huffman, rle
    var choice: StrategyChoice {
        switch self {
        case .auto: return .auto
        case .default: return .fixed(.default)
        case .filtered: return .fixed(.filtered)
        case .huffman: return .fixed(.huffman)
        case .rle: return .fixed(.rle)
        }
    }
}

struct Exp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exp",
        abstract: "Compute exp(x) for each input (the default command).",
        discussion: """
            INPUT is a file, a directory (every *.npy and *.npy.gz below it), a quoted glob expanded by npyexp
            (*, ?, [...], and ** for any depth), or - for standard input. Without -o the output goes beside the
            input as NAME.exp.npy[.gz]; files with those names are never taken as inputs.
            """
    )

    @Argument(help: "Files, directories, quoted globs, or - for standard input.")
    var inputs: [String] = []

    @OptionGroup var output: OutputOptions

    @Option(help: "Output dtype for real inputs: float16, float32 or float64 (default: keep floats, ints -> float32).")
    var dtype: RealDType?

    @Flag(name: [.short, .long], help: "Redo outputs that are already complete.")
    var force = false

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Print a line per input.")
    var verbose = false

    @Flag(help: "Stop at the first failed input.")
    var failFast = false

    @Option(help: ArgumentHelp("Read more inputs from FILE, one per line (- for standard input).", valueName: "FILE"),
            completion: .file())
    var filesFrom: String?

    @Flag(name: [.customShort("0"), .customLong("null")], help: "Names in --files-from are separated by NUL (find -print0).")
    var nullSeparated = false

    @Option(help: ArgumentHelp(
        "Process only shard K of N (1-based), chosen by a hash of each input's relative path; auto reads Slurm (array or srun step), Kubernetes or AWS Batch variables.",
        valueName: "K/N|auto"), completion: .list(["auto"]))
    var shard: String?

    @Option(help: ArgumentHelp("Number of shards for --shard auto: the completions of a Kubernetes Indexed Job; under Slurm, array task ids are then 0-based shard numbers (rerun a subset with --array=3,11).", valueName: "N"))
    var shardCount: Int?

    @Option(help: ArgumentHelp("Write a JSON Lines manifest of the run to FILE (one record per input, then a summary).", valueName: "FILE"),
            completion: .file())
    var manifest: String?

    @Option(help: ArgumentHelp("Write a SHA256SUMS file of the outputs to FILE (paths relative to its directory).", valueName: "FILE"),
            completion: .file())
    var sums: String?

    @Flag(inversion: .prefixedNo, help: "Show a progress line on stderr (default: only when stderr is a terminal).")
    var progress: Bool?

    func validate() throws {
        if inputs.isEmpty && filesFrom == nil { throw ValidationError("no INPUT given (use - for standard input)") }
        if filesFrom == "-" && inputs.contains("-") {
            throw ValidationError("--files-from - and the input - both want standard input")
        }
        if nullSeparated && filesFrom == nil { throw ValidationError("-0/--null needs --files-from") }
        if let shardCount, shardCount < 1 { throw ValidationError("--shard-count must be at least 1") }
        if shardCount != nil && shard != "auto" { throw ValidationError("--shard-count goes with --shard auto") }
        if shard != nil && (output.stdout || inputs.contains("-")) {
            throw ValidationError("--shard needs files, not standard input or --stdout")
        }
        if progress == true && quiet { throw ValidationError("--progress and --quiet exclude each other") }
        _ = try resolveShard()
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
        if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input given more than once") }
    }

    func makeConfiguration() -> ExpConfiguration {
        var c = ExpConfiguration()
        c.outputType = dtype?.computeType
        output.apply(to: &c)
        c.force = force
        c.hashPayload = manifest != nil
        return c
    }

    /// The shard this process handles, nil when not sharded. Errors are usage errors (exit 64).
    func resolveShard() throws -> Shard? {
        guard let shard else { return nil }
        do {
            if shard == "auto" { return try Shard.fromEnvironment(Self.environment(), count: shardCount) }
            return try Shard.parse(shard)
        } catch {
            throw ValidationError(error.description)
        }
    }

    static func environment() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                env[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            p += 1
        }
        return env
    }

    func run() throws {
        SignalCleanup.install()
        let started = monotonicSeconds()
        let environment = Self.environment()
        let shard = try resolveShard()
        var items: [InputItem] = []
        var nothingMatched = 0
        for argument in inputs {
            do {
                items += try InputDiscovery.expand(argument)
            } catch {
                printError("npyexp: \(error)")
                nothingMatched += 1
            }
        }
        if let filesFrom {
            let names: [String]
            do {
                names = FileList.names(in: try FileList.read(filesFrom), nulSeparated: nullSeparated)
            } catch {
                printError("npyexp: \(error)")
                throw ExitCode(ExitStatus.noInput)
            }
            let listed = FileList.items(names: names)
            for error in listed.errors { printError("npyexp: \(error)") }
            nothingMatched += listed.errors.count
            let known = Set(items.map(\.path))
            items += listed.items.filter { !known.contains($0.path) }
        }
        var configuration = makeConfiguration()
        let verbose = self.verbose
        let (kept, ownOutputs) = InputDiscovery.separatingOwnOutputs(items, outputDirectory: output.outputDir)
        if verbose {
            for item in ownOutputs { printError("npyexp: \(item.path): skipped (an npyexp output)") }
        }
        items = kept
        if let shard { items = shard.select(items) }
        if output.stdout && items.count > 1 {
            throw ValidationError("--stdout takes a single input, got \(items.count)")
        }

        let sizes = items.map { Self.fileSize($0.path) }
        let counter = ProgressCounter()
        configuration.progress = counter
        let display = ProgressDisplay(
            mode: ProgressMode.choose(forced: progress, quiet: quiet, environment: environment), counter: counter,
            totalFiles: items.count,
            totalBytes: sizes.contains(where: { $0 == nil }) ? nil : sizes.reduce(0) { $0 + ($1 ?? 0) },
            environment: environment)
        var sizeOf: [String: Int] = [:]
        for (item, size) in zip(items, sizes) { sizeOf[item.path] = size }
        let sizeTable = sizeOf
        let onReport: @Sendable (FileReport) -> Void = { report in
            display.finished(report, size: sizeTable[report.input.path])
            Self.print(report, verbose: verbose, display: display)
        }

        let pipeline = ExpPipeline(configuration)
        let reports: [FileReport]
        display.start()
        if output.stdout || items.contains(where: \.isStandardInput) {
            reports = items.map { item in
                let r = pipeline.process(item, toStandardOutput: output.stdout)
                onReport(r)
                return r
            }
        } else {
            reports = pipeline.processAll(items, stopAfterFailure: failFast, onReport: onReport)
        }
        display.finish()

        var recordFailed = false
        if let manifest {
            let summary = Manifest.summary(
                reports, notStarted: items.count - reports.count, seconds: monotonicSeconds() - started, shard: shard,
                version: NPYExpCommand.version)
            do { try Manifest.write(reports, summary: summary, to: manifest) } catch {
                printError("npyexp: \(error)")
                recordFailed = true
            }
        }
        if let sums {
            do { try SumsFile.write(reports, to: sums) } catch {
                printError("npyexp: \(error)")
                recordFailed = true
            }
        }
        let failures = reports.filter { $0.error != nil }.count
        let outputFailed = reports.contains { $0.error?.category == .output }
        if outputFailed || recordFailed { throw ExitCode(ExitStatus.outputError) }
        if failures > 0 { throw ExitCode(ExitStatus.someFailed) }
        if nothingMatched > 0 { throw ExitCode(items.isEmpty ? ExitStatus.noInput : ExitStatus.someFailed) }
    }
}

extension Exp {
    /// Size on disk of a regular file; nil for standard input or anything stat cannot size.
    static func fileSize(_ path: String) -> Int? {
        if path == "-" { return nil }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }

    /// One line per input on stderr: failures always, the rest with -v.
    static func print(_ report: FileReport, verbose: Bool, display: ProgressDisplay) {
        let printError = display.printLine
        let item = report.input
        switch report.status {
        case .done:
            guard verbose else { return }
            let shape = report.shape.map { "(" + $0.map(String.init).joined(separator: ", ") + ")" } ?? "?"
            printError(
                "npyexp: \(item.path) -> \(report.outputPath ?? "<stdout>"): \(report.inputDType?.name ?? "?") -> \(report.outputDType?.name ?? "?") \(shape), \(report.outputBytes) bytes, \(String(format3: report.seconds)) s"
            )
        case .skipped:
            if verbose { printError("npyexp: \(item.path): skipped, \(report.outputPath ?? "") is complete") }
        case .failed(let error):
            printError("npyexp: \(error)")
        }
    }
}

extension String {
    /// A number with three decimals, without Foundation.
    init(format3 value: Double) {
        let scaled = Int((value * 1000).rounded())
        let frac = String(scaled % 1000)
        self = "\(scaled / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}

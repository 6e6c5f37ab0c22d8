// The default command: `npyexp [OPTIONS] INPUT...`. Validates the options, expands the inputs, runs the pipeline
// on each and reports failures one line each. Relies on swift-argument-parser and NPYExp.
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

    @Option(name: [.short, .customLong("output-dir")], help: "Write outputs below DIR, keeping paths relative to each input's base.")
    var outputDir: String?

    @Flag(name: [.customShort("c"), .customLong("stdout")], help: "Write the single result to standard output (no sidecar).")
    var stdout = false

    @Option(name: [.short, .long], help: "Threads to use (default: all cores).")
    var jobs: Int?

    @Option(name: [.short, .long], help: "gzip compression level 0-9.")
    var level: Int = 6

    @Option(help: "deflate strategy: auto picks the smallest output on a sample (faster on near-ties).")
    var strategy: StrategyOption = .auto

    @Option(help: "Output dtype for real inputs: float16, float32 or float64 (default: keep floats, ints -> float32).")
    var dtype: RealDType?

    @Flag(inversion: .prefixedNo, help: "gzip the outputs (default: as the input).")
    var gzip: Bool?

    @Flag(name: [.short, .long], help: "Redo outputs that are already complete.")
    var force = false

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Print a line per input.")
    var verbose = false

    @Flag(help: "Stop at the first failed input.")
    var failFast = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("no INPUT given (use - for standard input)") }
        if !(0...9).contains(level) { throw ValidationError("--level must be 0-9, got \(level)") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if stdout && outputDir != nil { throw ValidationError("--stdout and --output-dir exclude each other") }
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
        if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input given more than once") }
    }

    func makeConfiguration() -> ExpConfiguration {
        var c = ExpConfiguration()
        c.outputType = dtype?.computeType
        c.container = gzip.map { $0 ? .gzip : .plain } ?? .followInput
        c.level = level
        c.strategy = strategy.choice
        if let jobs { c.jobs = jobs }
        c.outputDirectory = outputDir
        c.force = force
        return c
    }

    func run() throws {
        SignalCleanup.install()
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
        let configuration = makeConfiguration()
        let verbose = self.verbose
        let (kept, ownOutputs) = InputDiscovery.separatingOwnOutputs(items, outputDirectory: outputDir)
        if verbose {
            for item in ownOutputs { printError("npyexp: \(item.path): skipped (an npyexp output)") }
        }
        items = kept
        if stdout && items.count > 1 {
            throw ValidationError("--stdout takes a single input, got \(items.count)")
        }
        let pipeline = ExpPipeline(configuration)
        let reports: [FileReport]
        if stdout || items.contains(where: \.isStandardInput) {
            reports = items.map { item in
                let r = pipeline.process(item, toStandardOutput: stdout)
                Self.print(r, verbose: verbose)
                return r
            }
        } else {
            reports = pipeline.processAll(items, stopAfterFailure: failFast) { Self.print($0, verbose: verbose) }
        }
        let failures = reports.filter { $0.error != nil }.count
        let outputFailed = reports.contains { $0.error?.category == .output }
        if outputFailed { throw ExitCode(ExitStatus.outputError) }
        if failures > 0 { throw ExitCode(ExitStatus.someFailed) }
        if nothingMatched > 0 { throw ExitCode(items.isEmpty ? ExitStatus.noInput : ExitStatus.someFailed) }
    }
}

extension Exp {
    /// One line per input on stderr: failures always, the rest with -v.
    static func print(_ report: FileReport, verbose: Bool) {
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

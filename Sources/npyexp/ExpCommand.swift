// The default command: `npyexp [OPTIONS] INPUT...`. Validates the options, expands the inputs (arguments and
// --files-from; standard input when neither is given, as gzip does), keeps this shard's share (--shard), plans the run
// (or, with --dry-run, prints the plan and stops), runs the pipeline on each input with a progress line when stderr is
// a terminal, reports failures one line each, warns when a narrow output dtype turned finite results into inf, and
// writes the run's manifest and SHA256SUMS file when asked. Relies on swift-argument-parser and NPYExp.
import ArgumentParser
import NPYExp

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension ComputeType: ExpressibleByArgument {}
extension Promotion: ExpressibleByArgument {}

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
        usage: "npyexp [exp] [<options>] [<inputs> ...]",
        discussion: """
            INPUT is a file, a directory (every *.npy, *.npy.gz and *.npz below it), a quoted glob expanded by npyexp (*, ?, [...], and ** for any depth), or - for standard input. With no INPUT and no --files-from, standard input is read and the result written to standard output, as gzip does. Without -o the output goes beside the input as NAME.exp.npy[.gz] (an .npz archive: NAME.exp.npz, every member exp'd); files with those names are never taken as inputs.

            The output container follows the input's (gzip in, gzip out), also under -c; --no-gzip writes plain .npy, --gzip always gzip. An .npz archive stays an archive: its members keep their compression (stored or deflated) unless --gzip (all deflated) or --no-gzip (all stored).
            """
    )

    @Argument(help: "Files, directories, quoted globs, or - for standard input.", completion: .file())
    var inputs: [String] = []

    @OptionGroup var output: OutputOptions

    @OptionGroup var runOptions: RunOptions

    @Option(help: ArgumentHelp(
        "Output dtype of integer and bool inputs without --dtype: torch gives float32, numpy float16 for 8-bit, float32 for 16-bit and float64 for wider integers.",
        valueName: "torch|numpy"))
    var promote: Promotion = .torch


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


    @Flag(inversion: .prefixedNo, help: "Show a progress line on stderr (default: only when stderr is a terminal).")
    var progress: Bool?

    @Flag(name: [.customLong("dry-run"), .customLong("plan")], help: "Print what would be done to each input (its output, shard, do or skip) and a summary; write nothing.")
    var dryRun = false

    @Flag(help: "With --dry-run: JSON Lines (one object per input, then a summary object).")
    var json = false

    @Option(help: ArgumentHelp(
        "The output's file name for standard input under --output-dir (required there).", valueName: "NAME"))
    var stdinName: String?

    func validate() throws {
        if inputs.isEmpty && filesFrom == nil && isatty(0) == 1 {
            throw ValidationError("no INPUT given and standard input is a terminal (use - for standard input)")
        }
        if filesFrom == "-" && readsStandardInput {
            throw ValidationError("--files-from - and the input - both want standard input")
        }
        if nullSeparated && filesFrom == nil { throw ValidationError("-0/--null needs --files-from") }
        if let shardCount, !(1...1_000_000).contains(shardCount) {
            throw ValidationError("--shard-count must be 1-1000000, got \(shardCount)")
        }
        if json && !dryRun { throw ValidationError("--json goes with --dry-run") }
        if shardCount != nil && shard != "auto" { throw ValidationError("--shard-count goes with --shard auto") }
        if shard != nil && (output.stdout || readsStandardInput) {
            throw ValidationError("--shard needs files, not standard input or --stdout")
        }
        if progress == true && runOptions.quiet { throw ValidationError("--progress and --quiet exclude each other") }
        _ = try resolveShard()
        if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input given more than once") }
        if readsStandardInput && output.outputDir != nil && stdinName == nil {
            throw ValidationError("standard input with --output-dir needs --stdin-name NAME (the output's file name)")
        }
        if let stdinName, stdinName.isEmpty || stdinName.contains("/") || stdinName == "." || stdinName == ".." {
            throw ValidationError("--stdin-name takes a file name without '/', got '\(stdinName)'")
        }
        if stdinName != nil && !(readsStandardInput && output.outputDir != nil) {
            throw ValidationError("--stdin-name goes with standard input and --output-dir")
        }
    }

    /// INPUT as given, or standard input when none is given (as gzip does when stdin is not a terminal).
    var arguments: [String] { inputs.isEmpty && filesFrom == nil ? ["-"] : inputs }

    var readsStandardInput: Bool { arguments.contains("-") }

    /// The configuration and batch options these options describe.
    func makeConfiguration() throws -> (ExpConfiguration, BatchOptions) {
        var (c, options) = (ExpConfiguration(), BatchOptions())
        output.apply(to: &c)
        runOptions.apply(to: &c, &options, stdout: output.stdout)
        c.promotion = promote
        options.shard = try resolveShard()
        return (c, options)
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
        let started = Clock.now()
        let (items, problems) = try discoverInputs()
        let counter = ProgressCounter()
        let runner = try makeRunner(counter: counter)
        let plan = try makePlan(runner, items)
        if dryRun {
            let status = DryRun(json: json, shard: runner.options.shard).report(plan, runner: runner, problems: problems)
            if status != ExitStatus.success { throw ExitCode(status) }
            return
        }
        SignalCleanup.install()
        let display = makeDisplay(plan, counter: counter)
        let verbose = runOptions.verbose
        display.start()
        let result = runner.run(plan, started: started) { report in
            display.finished(report, size: display.isShown ? Self.fileSize(report.input.path) : nil)
            Self.print(report, verbose: verbose, display: display)
        }
        display.finish()
        for error in result.recordErrors { printError("npyexp: \(error)") }
        if !runOptions.quiet, let warning = Self.overflowWarning(result.reports) { printError(warning) }
        let status = result.exitStatus(discoveryProblems: problems)
        if status != ExitStatus.success { throw ExitCode(status) }
    }

    /// The batch runner for this command line; `counter` counts input bytes for the progress line.
    func makeRunner(counter: ProgressCounter) throws -> BatchRunner {
        var (configuration, options) = try makeConfiguration()
        configuration.progress = counter
        return BatchRunner(configuration, options: options)
    }

    /// The run's plan; a refused plan is a usage error (exit 64), as is -c with more than one input.
    func makePlan(_ runner: BatchRunner, _ items: [InputItem]) throws -> RunPlan {
        let plan: RunPlan
        do { plan = try runner.plan(items) } catch {
            printError("npyexp: \(error)")
            throw ExitCode(ExitStatus.usage)
        }
        if runOptions.verbose { for item in plan.ownOutputs { printError("npyexp: \(item.path): skipped (an npyexp output)") } }
        if output.stdout && plan.inputs.count > 1 {
            throw ValidationError("--stdout takes a single input, got \(plan.inputs.count)")
        }
        return plan
    }

    /// The inputs INPUT and --files-from name, this shard's share of them; problems are printed and counted.
    func discoverInputs() throws -> (items: [InputItem], problems: Int) {
        var (items, problems) = InputDiscovery.discover(arguments)
        if let stdinName { items = items.map { $0.isStandardInput ? .standardInput(named: stdinName) : $0 } }
        if let filesFrom {
            let names: [String]
            do {
                names = FileList.names(in: try FileList.read(filesFrom), nulSeparated: nullSeparated)
            } catch {
                printError("npyexp: \(error)")
                throw ExitCode(ExitStatus.noInput)
            }
            let listed = FileList.items(names: names)
            problems += listed.errors
            let known = Set(items.map(\.path))
            items += listed.items.filter { !known.contains($0.path) }
        }
        for problem in problems { printError("npyexp: \(problem)") }
        if let shard = try resolveShard() { items = shard.select(items) }
        return (items, problems.count)
    }

    /// The progress display for a plan (sizes from the file system; standard input has none).
    func makeDisplay(_ plan: RunPlan, counter: ProgressCounter) -> ProgressDisplay {
        let environment = Self.environment()
        let mode = ProgressMode.choose(forced: progress, quiet: runOptions.quiet, environment: environment)
        let sizes = mode == .off ? [nil] : plan.inputs.map { Self.fileSize($0.item.path) }
        return ProgressDisplay(
            mode: mode, counter: counter,
            totalFiles: plan.inputs.count,
            totalBytes: sizes.contains(where: { $0 == nil }) ? nil : sizes.reduce(0) { $0 + ($1 ?? 0) },
            environment: environment)
    }
}

extension Exp {
    /// Size on disk of a regular file; nil for standard input or anything stat cannot size.
    static func fileSize(_ path: String) -> Int? {
        path == "-" ? nil : InputDiscovery.regularFileSize(path)
    }

    /// The one-line warning when finite inputs overflowed to inf only because the output dtype is narrow; nil when
    /// none did.
    static func overflowWarning(_ reports: [FileReport]) -> String? {
        let hit = reports.filter { $0.counts.narrowOverflow > 0 }
        guard !hit.isEmpty else { return nil }
        let count = hit.reduce(0) { $0 + $1.counts.narrowOverflow }
        var dtypes: [String] = []
        // An archive's dtypes are its members' that overflowed.
        let types = hit.flatMap { r in
            r.members.map { $0.filter { $0.counts.narrowOverflow > 0 }.compactMap(\.outputDType) } ?? [r.outputDType].compactMap { $0 }
        }
        for name in types.map(\.name) where !dtypes.contains(name) { dtypes.append(name) }
        let files = hit.count == 1 ? hit[0].input.path : "\(hit.count) files"
        return "npyexp: warning: \(count) finite input\(count == 1 ? "" : "s") overflowed to inf in \(dtypes.joined(separator: "/")) (\(files)); --dtype float64 keeps them finite"
    }

    /// One line per input on stderr: failures always, the rest with -v.
    static func print(_ report: FileReport, verbose: Bool, display: ProgressDisplay) {
        let printError = display.printLine
        let item = report.input
        switch report.status {
        case .done:
            guard verbose else { return }
            let shape = report.shape.map(Format.shape) ?? "?"
            let what = report.members.map { Format.count($0.count, "member") + ", \(Format.count(report.elementCount, "element"))" }
                ?? "\(report.inputDType?.name ?? "?") -> \(report.outputDType?.name ?? "?") \(shape)"
            printError(
                "npyexp: \(item.path) -> \(report.outputPath ?? "<stdout>"): \(what), \(report.outputBytes) bytes, \(Format.seconds(report.seconds))"
            )
        case .skipped:
            if verbose { printError("npyexp: \(item.path): skipped, \(report.outputPath ?? "") is complete") }
        case .failed(let error):
            printError("npyexp: \(error)")
        }
    }
}

// The options every writing command shares (exp, backward): where outputs go, threads, and how they are compressed.
// Values are taken as gzip and pigz users type them: `-j4`, `-l9`, and `-1` .. `-9` as level shorthands (hidden from
// --help, which names them on the --level line); ranges are checked with messages that name the option and the range.
// Relies on swift-argument-parser and NPYExp.
import ArgumentParser
import Gzip
import NPYExp

/// Output placement and compression options, validated once and applied to an `ExpConfiguration`.
struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .customLong("output-dir")], help: ArgumentHelp(
        "Write outputs below DIR, keeping paths relative to each input's base.", valueName: "DIR"),
        completion: .directory)
    var outputDir: String?

    @Flag(name: [.customShort("c"), .customLong("stdout")], help: "Write the single result to standard output, no sidecar; the bytes are what the output file would hold (gzip for a gzip input unless --no-gzip).")
    var stdout = false

    @Option(name: [.customShort("j", allowingJoined: true), .long], help: ArgumentHelp(
        "Threads to use, 1-\(ExpConfiguration.maximumJobs) (default: all cores); -j4 works too.", valueName: "N"))
    var jobs: Int?

    @Option(name: [.customShort("l", allowingJoined: true), .long], help: ArgumentHelp(
        "gzip compression level 0-9 (default: 6); -l9 and gzip's -1 .. -9 work too.", valueName: "0-9"))
    var level: Int?

    @Flag(name: .customShort("1"), help: .hidden) var level1 = false
    @Flag(name: .customShort("2"), help: .hidden) var level2 = false
    @Flag(name: .customShort("3"), help: .hidden) var level3 = false
    @Flag(name: .customShort("4"), help: .hidden) var level4 = false
    @Flag(name: .customShort("5"), help: .hidden) var level5 = false
    @Flag(name: .customShort("6"), help: .hidden) var level6 = false
    @Flag(name: .customShort("7"), help: .hidden) var level7 = false
    @Flag(name: .customShort("8"), help: .hidden) var level8 = false
    @Flag(name: .customShort("9"), help: .hidden) var level9 = false

    @Option(help: "deflate strategy: auto picks the smallest output on a sample (faster on near-ties).")
    var strategy: StrategyOption = .auto

    @Flag(inversion: .prefixedNo, help: "gzip the outputs, or write plain .npy (default: the input's container).")
    var gzip: Bool?

    @Flag(name: [.customShort("k"), .customLong("keep")], help: .hidden)
    var keep = false  // gzip's -k: npyexp never removes an input, so it is accepted and does nothing.

    /// The level given as `-1` .. `-9`, if any.
    var shorthandLevels: [Int] {
        [level1, level2, level3, level4, level5, level6, level7, level8, level9].enumerated().filter(\.element)
            .map { $0.offset + 1 }
    }

    /// The gzip level in effect: `-N`, `--level`, or 6.
    var effectiveLevel: Int { shorthandLevels.first ?? level ?? 6 }

    func validate() throws {
        // A bad NPYEXP_INFLATE or NPYEXP_TEMPORARIES is one usage error, not a failure of every input.
        if case .failure(let error) = Inflater.selection { throw ValidationError(error.description) }
        if let problem = TemporaryFiles.selectionProblem { throw ValidationError(problem) }
        if let level, !(0...9).contains(level) { throw ValidationError("--level must be 0-9, got \(level)") }
        let shorthands = shorthandLevels
        if shorthands.count > 1 || (shorthands.count == 1 && level != nil && level != shorthands[0]) {
            let given = shorthands.map { "-\($0)" } + (level.map { ["--level \($0)"] } ?? [])
            throw ValidationError("give one compression level, got \(given.joined(separator: " and "))")
        }
        if let jobs, !(1...ExpConfiguration.maximumJobs).contains(jobs) {
            throw ValidationError("--jobs must be 1-\(ExpConfiguration.maximumJobs), got \(jobs)")
        }
        if stdout && outputDir != nil { throw ValidationError("--stdout and --output-dir exclude each other") }
    }

    func apply(to c: inout ExpConfiguration) {
        c.container = gzip.map { $0 ? .gzip : .plain } ?? .followInput
        c.level = effectiveLevel
        c.strategy = strategy.choice
        if let jobs { c.jobs = jobs }
        c.outputDirectory = outputDir
    }
}

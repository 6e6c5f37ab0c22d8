// The options every writing command shares (exp, backward): where outputs go, threads, and how they are compressed.
// Relies on swift-argument-parser and NPYExp.
import ArgumentParser
import NPYExp

/// Output placement and compression options, validated once and applied to an `ExpConfiguration`.
struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .customLong("output-dir")], help: "Write outputs below DIR, keeping paths relative to each input's base.")
    var outputDir: String?

    @Flag(name: [.customShort("c"), .customLong("stdout")], help: "Write the single result to standard output (no sidecar).")
    var stdout = false

    @Option(name: [.customShort("j", allowingJoined: true), .long], help: "Threads to use, 1-1024 (default: all cores).")
    var jobs: Int?

    @Option(name: [.customShort("l", allowingJoined: true), .long], help: "gzip compression level 0-9.")
    var level: Int = 6

    @Option(help: "deflate strategy: auto picks the smallest output on a sample (faster on near-ties).")
    var strategy: StrategyOption = .auto

    @Flag(inversion: .prefixedNo, help: "gzip the outputs (default: as the input).")
    var gzip: Bool?

    func validate() throws {
        if !(0...9).contains(level) { throw ValidationError("--level must be 0-9, got \(level)") }
        if let jobs, !(1...ExpConfiguration.maximumJobs).contains(jobs) {
            throw ValidationError("--jobs must be between 1 and \(ExpConfiguration.maximumJobs), got \(jobs)")
        }
        if stdout && outputDir != nil { throw ValidationError("--stdout and --output-dir exclude each other") }
    }

    func apply(to c: inout ExpConfiguration) {
        c.container = gzip.map { $0 ? .gzip : .plain } ?? .followInput
        c.level = level
        c.strategy = strategy.choice
        if let jobs { c.jobs = jobs }
        c.outputDirectory = outputDir
    }
}

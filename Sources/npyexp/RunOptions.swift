// The options every batch command shares (exp, backward): dtype, reruns, what is printed, when to stop, and the
// run's records. Relies on swift-argument-parser and NPYExp.
import ArgumentParser
import NPYExp

/// Output dtype choices for `--dtype`.
enum RealDType: String, ExpressibleByArgument, CaseIterable {
    case float16, float32, float64
    var computeType: ComputeType { ComputeType(rawValue: rawValue)! }
}

/// Run options shared by `exp` and `backward`, applied to a configuration and batch options.
struct RunOptions: ParsableArguments {
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

    @Option(
        help: ArgumentHelp(
            "Write a JSON Lines manifest of the run to FILE (one record per input, then a summary).", valueName: "FILE"),
        completion: .file())
    var manifest: String?

    @Option(
        help: ArgumentHelp(
            "Write a SHA256SUMS file of the outputs to FILE (paths relative to its directory).", valueName: "FILE"),
        completion: .file())
    var sums: String?

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
    }

    /// Sets what these options decide in a configuration and batch options.
    func apply(to c: inout ExpConfiguration, _ options: inout BatchOptions, stdout: Bool) {
        c.outputType = dtype?.computeType
        c.force = force
        c.hashPayload = manifest != nil
        (options.stopAfterFailure, options.toStandardOutput) = (failFast, stdout)
        (options.manifest, options.sums, options.version) = (manifest, sums, NPYExpCommand.version)
    }
}

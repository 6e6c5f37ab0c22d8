// `npyexp backward RESULT GRAD [RESULT GRAD ...]`: the gradient of exp for each pair, grad * result (complex:
// grad * conj(result)), torch's ExpBackward. Arguments pair up in order: the forward output, then the upstream
// gradient of the same shape and dtype. Outputs follow the forward command's rules (beside the gradient as
// NAME.backward.npy[.gz], or below -o under the gradient's name; atomic; SHA-256 sidecar).
// Relies on swift-argument-parser and NPYExp.
import ArgumentParser
import NPYExp

struct Backward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backward",
        abstract: "Gradient of exp: grad * result for each RESULT GRAD pair (grad * conj(result) for complex).",
        discussion: """
            RESULT is a forward output of npyexp (y = exp(x)), GRAD the upstream gradient dL/dy with the same shape,
            memory order and dtype. The output dL/dx goes beside GRAD as NAME.backward.npy[.gz] (or below -o DIR
            with GRAD's file name). Both files stream in lockstep in bounded memory.
            """
    )

    @Argument(help: "Pairs of files: RESULT GRAD [RESULT GRAD ...].")
    var files: [String] = []

    @Option(name: [.short, .customLong("output-dir")], help: "Write outputs below DIR.")
    var outputDir: String?

    @Flag(name: [.customShort("c"), .customLong("stdout")], help: "Write the single result to standard output.")
    var stdout = false

    @Option(name: [.short, .long], help: "Threads to use (default: all cores).")
    var jobs: Int?

    @Option(name: [.short, .long], help: "gzip compression level 0-9.")
    var level: Int = 6

    @Option(help: "deflate strategy.")
    var strategy: StrategyOption = .auto

    @Flag(inversion: .prefixedNo, help: "gzip the outputs (default: as the gradient input).")
    var gzip: Bool?

    @Flag(name: [.short, .long], help: "Print a line per pair.")
    var verbose = false

    func validate() throws {
        if files.isEmpty || files.count % 2 != 0 {
            throw ValidationError("backward takes pairs RESULT GRAD, got \(files.count) file(s)")
        }
        if !(0...9).contains(level) { throw ValidationError("--level must be 0-9, got \(level)") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if stdout && files.count > 2 { throw ValidationError("--stdout takes a single pair") }
        if stdout && outputDir != nil { throw ValidationError("--stdout and --output-dir exclude each other") }
    }

    func run() throws {
        SignalCleanup.install()
        var c = ExpConfiguration()
        c.container = gzip.map { $0 ? .gzip : .plain } ?? .followInput
        c.level = level
        c.strategy = strategy.choice
        if let jobs { c.jobs = jobs }
        c.outputDirectory = outputDir
        let pipeline = ExpPipeline(c)
        var failed = false
        var outputFailed = false
        for i in stride(from: 0, to: files.count, by: 2) {
            let items = [files[i], files[i + 1]].map { path -> InputItem in
                let (dir, name) = splitPath(path)
                return InputItem(path: path, base: dir, relativePath: name)
            }
            let report = pipeline.backward(BackwardPair(result: items[0], grad: items[1]), toStandardOutput: stdout)
            if let error = report.error {
                printError("npyexp: \(error)")
                failed = true
                if error.category == .output { outputFailed = true }
            } else if verbose {
                printError("npyexp: \(items[1].path) -> \(report.outputPath ?? "<stdout>"): \(report.outputBytes) bytes")
            }
        }
        if outputFailed { throw ExitCode(ExitStatus.outputError) }
        if failed { throw ExitCode(ExitStatus.someFailed) }
    }

    private func splitPath(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }
}

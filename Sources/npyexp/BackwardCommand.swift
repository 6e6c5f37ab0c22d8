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

    @OptionGroup var output: OutputOptions

    @Flag(name: [.short, .long], help: "Print a line per pair.")
    var verbose = false

    func validate() throws {
        if files.isEmpty || files.count % 2 != 0 {
            throw ValidationError("backward takes pairs RESULT GRAD, got \(files.count) file(s)")
        }
        if output.stdout && files.count > 2 { throw ValidationError("--stdout takes a single pair") }
    }

    func run() throws {
        SignalCleanup.install()
        var c = ExpConfiguration()
        output.apply(to: &c)
        let pipeline = ExpPipeline(c)
        var failed = false
        var outputFailed = false
        for i in stride(from: 0, to: files.count, by: 2) {
            let items = [files[i], files[i + 1]].map(InputItem.init(file:))
            let report = pipeline.backward(BackwardPair(result: items[0], grad: items[1]), toStandardOutput: output.stdout)
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
}

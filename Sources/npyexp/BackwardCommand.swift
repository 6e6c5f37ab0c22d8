// `npyexp backward RESULT GRAD [RESULT GRAD ...]`: the gradient of exp for each pair, grad * result (complex:
// grad * conj(result)), torch's ExpBackward. Arguments pair up in order: the forward output, then the upstream
// gradient of the same shape and dtype; two directories or quoted globs pair their files by relative path. Outputs
// follow the forward command's rules (beside the gradient as NAME.backward.npy[.gz], or below -o under the
// gradient's relative path; planned first, atomic, SHA-256 sidecar, complete outputs skipped on rerun).
// Relies on swift-argument-parser and NPYExp.
import ArgumentParser
import NPYExp

struct Backward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backward",
        abstract: "Gradient of exp: grad * result for each RESULT GRAD pair (grad * conj(result) for complex).",
        discussion: """
            RESULT is a forward output of npyexp (y = exp(x)), GRAD the upstream gradient dL/dy with the same shape, memory order and dtype. Two directories (or quoted globs) pair their files by relative path. The output dL/dx goes beside GRAD as NAME.backward.npy[.gz] (NAME.backward.npz for two .npz archives, whose members pair in order and by name), or below -o DIR with GRAD's relative path. Both files stream in lockstep in bounded memory.
            """
    )

    @Argument(help: "Pairs: RESULT GRAD [RESULT GRAD ...]; each a file, a directory or a quoted glob.")
    var files: [String] = []

    @OptionGroup var output: OutputOptions

    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        if files.isEmpty || files.count % 2 != 0 {
            throw ValidationError("backward takes pairs RESULT GRAD, got \(files.count) argument(s)")
        }
        if output.stdout && files.count > 2 { throw ValidationError("--stdout takes a single pair") }
    }

    func run() throws {
        SignalCleanup.install()
        var (c, options) = (ExpConfiguration(), BatchOptions())
        output.apply(to: &c)
        runOptions.apply(to: &c, &options, stdout: output.stdout)
        var (pairs, problems) = ([BackwardPair](), [NPYExpError]())
        for i in stride(from: 0, to: files.count, by: 2) {
            let (results, grads) = (InputDiscovery.discover([files[i]]), InputDiscovery.discover([files[i + 1]]))
            let paired = BackwardPair.pairs(results: results.items, grads: grads.items)
            pairs += paired.pairs
            problems += results.problems + grads.problems + paired.problems
        }
        for problem in problems { printError("npyexp: \(problem)") }
        let runner = BatchRunner(c, options: options)
        let plan: RunPlan
        do { plan = try runner.plan(pairs: pairs) } catch {
            printError("npyexp: \(error)")
            throw ExitCode(ExitStatus.usage)
        }
        let verbose = runOptions.verbose
        let result = runner.run(plan) { report in Backward.print(report, verbose: verbose) }
        for error in result.recordErrors { printError("npyexp: \(error)") }
        let status = result.exitStatus(discoveryProblems: problems.count)
        if status != ExitStatus.success { throw ExitCode(status) }
    }

    /// Failures always; with -v a line per pair done or skipped.
    static func print(_ report: FileReport, verbose: Bool) {
        switch report.status {
        case .failed(let error): printError("npyexp: \(error)")
        case .skipped where verbose:
            printError("npyexp: \(report.input.path): skipped, \(report.outputPath ?? "") is complete")
        case .done where verbose:
            printError("npyexp: \(report.input.path) -> \(report.outputPath ?? "<stdout>"): \(report.outputBytes) bytes")
        default: break
        }
    }
}

// `npyexp verify PATH...`: re-checks outputs against their SHA-256 sidecars, their gzip CRCs and their NPY structure
// (header parses, data length exact), like `sha256sum -c` and `gzip -t` in one pass. Prints one line per fault
// (`npyexp: PATH: fault`), nothing when all is well unless -v. Relies on swift-argument-parser and NPYExp.
import ArgumentParser
import NPYExp

/// The `verify` subcommand.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check outputs against their .sha256 sidecars, gzip CRCs and NPY structure.",
        discussion: """
            PATH is an output file (checked against PATH.sha256), a .sha256 sidecar (every file it lists), or a \
            directory (every sidecar below it, and every NAME.exp.npy[.gz] output, which must have one).

            Exit status: 0 all intact, 1 some fault (one line each on stderr), 66 nothing to check.
            """
    )

    @Argument(help: "Output files, .sha256 sidecars or directories.")
    var paths: [String] = []

    @Option(name: [.short, .long], help: "Files checked at the same time (default: all cores).")
    var jobs: Int?

    @Flag(name: [.short, .long], help: "Also print a line for each intact file.")
    var verbose = false

    func validate() throws {
        if paths.isEmpty { throw ValidationError("no PATH given") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        var targets: [OutputVerifier.Target] = []
        var faults = 0
        var seen: Set<String> = []
        for path in paths {
            let found = OutputVerifier.targets(for: path)
            for fault in found.faults { printError("npyexp: \(fault)") }
            faults += found.faults.count
            for t in found.targets where seen.insert(t.path).inserted { targets.append(t) }
        }
        let results = OutputVerifier.checkAll(targets, jobs: jobs ?? ExpConfiguration.availableCores)
        for r in results {
            for fault in r.faults { printError("npyexp: \(fault)") }
            if r.faults.isEmpty && verbose { printError("npyexp: \(r.path): OK") }
            faults += r.faults.count
        }
        if targets.isEmpty { throw ExitCode(ExitStatus.noInput) }
        if faults > 0 { throw ExitCode(ExitStatus.someFailed) }
    }
}

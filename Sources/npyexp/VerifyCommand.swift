// `npyexp verify PATH...`: re-checks outputs against their SHA-256 sidecars, their gzip CRCs and their NPY structure
// (header parses, data length exact), like `sha256sum -c` and `gzip -t` in one pass. Streams as `sha256sum -c` does:
// `PATH: OK` on standard output for each intact file (not with --quiet), one line per fault on standard error
// (`npyexp: PATH: fault`), nothing at all with --status. Relies on swift-argument-parser and NPYExp.
import ArgumentParser
import NPYExp

/// The `verify` subcommand.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check outputs against their .sha256 sidecars, gzip CRCs and NPY structure.",
        discussion: """
            PATH is an output file (checked against PATH.sha256), a checksum list such as a .sha256 sidecar or a SHA256SUMS file (every file it lists), or a directory (every checksum list below it, and every .npy / .npy.gz / .npz below it, which one of them must list). An .npz archive's members are checked too: CRC-32, sizes and NPY structure of each.

            As with `sha256sum -c`, each intact file gets a line `PATH: OK` on standard output, and each fault a line `npyexp: PATH: what is wrong` on standard error. --quiet leaves out the OK lines; --status prints nothing and only sets the exit status.

            Exit status: 0 all intact, 1 some fault, 66 nothing to check.
            """
    )

    @Argument(help: "Output files, checksum lists (.sha256, SHA256SUMS) or directories.", completion: .file())
    var paths: [String] = []

    @Option(name: [.customShort("j", allowingJoined: true), .long], help: ArgumentHelp(
        "Files checked at the same time, 1-\(ExpConfiguration.maximumJobs) (default: all cores).", valueName: "N"))
    var jobs: Int?

    @Flag(name: [.short, .long], help: "Print no OK lines, only faults.")
    var quiet = false

    @Flag(help: "Print nothing; the exit status tells (0 all intact).")
    var status = false

    @Flag(name: [.short, .long], help: .hidden)
    var verbose = false  // Earlier releases printed OK lines only with -v; they are now the default.

    func validate() throws {
        if paths.isEmpty { throw ValidationError("no PATH given") }
        if let jobs, !(1...ExpConfiguration.maximumJobs).contains(jobs) {
            throw ValidationError("--jobs must be 1-\(ExpConfiguration.maximumJobs), got \(jobs)")
        }
        if verbose && (quiet || status) { throw ValidationError("--verbose excludes --quiet and --status") }
    }

    func run() throws {
        var targets: [OutputVerifier.Target] = []
        var faults: [VerifyFault] = []
        var seen: Set<String> = []
        for path in paths {
            let found = OutputVerifier.targets(for: path)
            faults += found.faults
            for t in found.targets where seen.insert(t.path).inserted { targets.append(t) }
        }
        if !status { for fault in faults { printError("npyexp: \(fault)") } }
        for r in OutputVerifier.checkAll(targets, jobs: jobs ?? ExpConfiguration.availableCores) {
            if !status { for fault in r.faults { printError("npyexp: \(fault)") } }
            if r.faults.isEmpty && !quiet && !status { writeStdout("\(r.path): OK\n") }
            faults += r.faults
        }
        if targets.isEmpty { throw ExitCode(ExitStatus.noInput) }
        if !faults.isEmpty { throw ExitCode(ExitStatus.someFailed) }
    }
}

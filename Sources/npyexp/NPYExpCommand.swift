// npyexp: the command-line tool. A thin layer over the NPYExp library: each command parses its options, validates
// them, builds an `ExpConfiguration` and calls the pipeline. Exit status (sysexits style, documented in the README):
// 0 all inputs done or already complete, 1 some input failed, 64 usage error, 66 no input matched,
// 74 an output could not be written, 128+N killed by signal N (temporary files removed first).
// Relies on swift-argument-parser, NPYExp, and Gzip (only to name the inflate library in --version).
import ArgumentParser
import Gzip
import NPYExp

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `npyexp` root command; with no subcommand name it runs `exp`.
@main
struct NPYExpCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "npyexp",
        abstract: "Apply exp element-wise to NumPy .npy / .npy.gz tensors and .npz archives, streamed, on all cores.",
        usage: """
            npyexp [exp] [<options>] [<inputs> ...]
            npyexp <subcommand> [<options>] ...
            """,
        discussion: """
            exp is the default command: `npyexp x.npy` is `npyexp exp x.npy`; see `npyexp exp --help` for its options. Outputs are written atomically with a SHA-256 sidecar (OUTPUT.sha256, checked by `sha256sum -c` or `npyexp verify`).

            Exit status: 0 all done, 1 some input failed, 64 usage error, 66 no input matched, 74 an output could not be written, 128+N killed by signal N.
            """,
        version: "\(version) (inflate: \(Inflater.backendName))",
        subcommands: [Exp.self, Backward.self, Verify.self, Inspect.self],
        defaultSubcommand: Exp.self
    )

    /// Parses the command line as bytes (file names need not be UTF-8), then runs the command.
    static func main() {
        main(Array(ByteExactArguments.all.dropFirst()))
    }
}

/// Prints one line to standard error (through the library's single writer for standard streams).
func printError(_ line: String) {
    StandardStreams.error(line)
}

// `npyexp inspect INPUT...`: what each .npy / .npy.gz holds (NPY version, dtype, shape, order, header and data sizes,
// compressed size and space saved as `gzip -l` shows it, gzip members and framing) without computing anything.
// INPUT is taken as by the main command: files, directories, quoted globs, `-`. `--json` prints one JSON object per
// line for scripts. Errors are one line each, `npyexp: PATH: ...`, as in the main command, and the other files go on.
// Relies on swift-argument-parser and NPYExp.Inspection.
import ArgumentParser
import NPYExp

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Prints the layout of .npy / .npy.gz files.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the NPY header and gzip framing of .npy / .npy.gz files, and the members of .npz archives.",
        discussion: """
            INPUT is a file, a directory (every *.npy, *.npy.gz and *.npz below it), a quoted glob expanded by npyexp, or - for standard input (the default when standard input is not a terminal), as for exp. For gzip files the ratio is the space saved, as `gzip -l` shows it: 1 - compressed / uncompressed.

            Exit status: 0 every file inspected, 1 some file is malformed or unreadable (one line each on stderr), 66 no file found.
            """
    )

    @Argument(help: "Files, directories, quoted globs, or - for standard input.", completion: .file())
    var files: [String] = []

    @Flag(help: "One JSON object per file and line (JSON Lines).")
    var json = false

    func validate() throws {
        if files.isEmpty && isatty(0) == 1 {
            throw ValidationError("no INPUT given and standard input is a terminal (use - for standard input)")
        }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input given more than once") }
    }

    /// INPUT as given, or standard input when none is given (as exp does).
    var arguments: [String] { files.isEmpty ? ["-"] : files }

    func run() throws {
        let (items, problems) = InputDiscovery.discover(arguments)
        for problem in problems { printError("npyexp: \(problem)") }
        var failed = problems.count
        var missing = 0
        for item in items {
            do {
                let result = try Inspection.inspectFile(item.path)
                writeStdout((json ? result.json : result.text) + "\n")
            } catch {
                printError("npyexp: \(error)")
                if error.category == .noInput { missing += 1 } else { failed += 1 }
            }
        }
        if items.isEmpty || (missing == items.count && failed == 0) { throw ExitCode(ExitStatus.noInput) }
        if failed + missing > 0 { throw ExitCode(ExitStatus.someFailed) }
    }
}

/// Writes text to standard output unbuffered, so lines keep their order with stderr.
func writeStdout(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { b in
        var offset = 0
        while offset < b.count {
            let n = write(1, b.baseAddress! + offset, b.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}

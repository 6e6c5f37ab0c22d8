// `npyexp inspect FILE...`: what each .npy / .npy.gz holds (NPY version, dtype, shape, order, header and data sizes,
// compressed size, gzip members and framing) without computing anything; `--json` prints one JSON object per line
// for scripts. Errors are one line each, `npyexp: PATH: ...`, as in the main command, and the other files go on.
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
        abstract: "Show the NPY header and gzip framing of .npy / .npy.gz files.",
        discussion: """
            Exit status: 0 every file inspected, 1 some file is malformed (one line each on stderr),
            66 no file could be opened.
            """
    )

    @Argument(help: "Files to inspect (- for standard input).")
    var files: [String] = []

    @Flag(help: "One JSON object per file and line (JSON Lines).")
    var json = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("no FILE given") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input given more than once") }
    }

    func run() throws {
        var failed = 0
        var missing = 0
        for path in files {
            do {
                let result = try Inspection.inspect(path)
                writeStdout((json ? result.json : result.text) + "\n")
            } catch {
                printError("npyexp: \(error)")
                if error.category == .noInput { missing += 1 } else { failed += 1 }
            }
        }
        if missing == files.count { throw ExitCode(ExitStatus.noInput) }
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

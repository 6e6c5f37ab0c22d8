// The shipped man page and shell completions (issue 14 item 6) must be what the binary generates: this test runs
// `tools/generate-docs --check` against the built binary and fails with its diff when docs/ is stale. It also presses
// TAB in bash against the shipped bash completion: subcommands and exp's options complete before `exp` is typed.
// Relies on python3 (the generator) and bash.
import Foundation
import Testing

@Suite struct DocsTests {
    @Test func shippedDocsAreWhatTheBinaryGenerates() throws {
        let script = Paths.root.appendingPathComponent("tools/generate-docs").path
        let r = try run("/usr/bin/env", ["python3", script, "--check", "--binary", Paths.binary])
        #expect(r.status == 0, "docs/ is stale; run tools/generate-docs:\n\(String(decoding: r.stdout, as: UTF8.self))\(r.stderr)")
        let man = try String(contentsOf: Paths.root.appendingPathComponent("docs/npyexp.1"), encoding: .utf8)
        for section in ["EXIT STATUS", "ENVIRONMENT", "COMMANDS"] { #expect(man.contains(".SH \(section)")) }
        for word in ["NPYEXP_KERNEL", "NO_COLOR", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX",
                     "npyexp verify", "npyexp backward", "npyexp inspect", "\\-\\-no\\-gzip", "\\-\\-dry\\-run"] {
            #expect(man.contains(word), "man page lacks \(word)")
        }
    }

    /// The completions bash offers for `line` (cursor at its end), from the shipped script.
    func complete(_ line: String, in directory: URL) throws -> [String] {
        let simulate = """
            source "$1"
            line="$2"
            read -ra COMP_WORDS <<< "$line"
            [[ "$line" == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE="$line"; COMP_POINT=${#line}
            COMPREPLY=()
            _npyexp npyexp "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let bash = Paths.root.appendingPathComponent("docs/completions/npyexp.bash").path
        let r = try run("/bin/bash", ["-c", simulate, "sim", bash, line], in: directory)
        #expect(r.status == 0, "\(r.stderr)")
        return Set(String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").map(String.init)).sorted()
    }

    @Test func bashCompletesSubcommandsAndTheDefaultCommandsOptions() throws {
        let dir = try scratchDirectory("complete")
        defer { try? FileManager.default.removeItem(at: dir) }
        FileManager.default.createFile(atPath: dir.appendingPathComponent("x.npy").path, contents: Data())
        let top = try complete("npyexp ", in: dir)
        for word in ["exp", "verify", "inspect", "backward", "x.npy"] { #expect(top.contains(word), "\(top)") }
        #expect(try complete("npyexp --le", in: dir) == ["--level"])
        #expect(try complete("npyexp --dr", in: dir) == ["--dry-run"])
        #expect(try complete("npyexp -o out --strategy ", in: dir) == ["auto", "default", "filtered", "huffman", "rle"])
        #expect(try complete("npyexp x.npy --dt", in: dir) == ["--dtype"])
        #expect(try complete("npyexp ver", in: dir) == ["verify"])
        #expect(try complete("npyexp verify --st", in: dir) == ["--status"])
        #expect(try complete("npyexp exp --le", in: dir) == ["--level"])
    }
}

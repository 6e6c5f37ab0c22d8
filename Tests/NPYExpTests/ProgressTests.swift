// Progress and quiet runs (issue 3, item 1 and 8): no terminal means no progress line (cron stays silent), --progress
// forces it, a real terminal (util-linux `script` gives the child a pty) shows it redrawn with carriage returns,
// NO_COLOR removes the colour, --no-progress and -q remove the line. Also --version and the generated completion
// script. Relies on util-linux script (skipped without it).
import Foundation
import Testing

@Suite struct ProgressTests {
    static let hasScript = FileManager.default.isExecutableFile(atPath: "/usr/bin/script")

    @Test func silentWithoutTerminalAndForcedWithFlag() throws {
        let root = try scratchDirectory("progress")
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCorpus(root.appendingPathComponent("corpus"), count: 6)
        let quiet = try npyexp(["-o", "a", "corpus"], in: root)
        #expect(quiet.status == 0)
        // No progress line; only the warning that the corpus's wrapped uint8 values overflowed float32.
        #expect(quiet.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("npyexp: warning: ") }, "\(quiet.stderr)")
        let forced = try npyexp(["--progress", "-o", "b", "corpus"], in: root)
        #expect(forced.status == 0)
        #expect(forced.stderr.contains("npyexp: 6/6 files"), "\(forced.stderr)")
        #expect(forced.stderr.contains("MB/s"))
        #expect(!forced.stderr.contains("\r"), "off a terminal each update is its own line")
        #expect(try npyexp(["--progress", "-q", "corpus"], in: root).status == 64)
    }

    /// Runs npyexp on a pseudo-terminal; returns everything the terminal showed.
    func onTerminal(_ arguments: String, in dir: URL, environment: [String: String] = [:]) throws -> String {
        let r = try run("/usr/bin/script", ["-qec", Paths.binary + " " + arguments, "/dev/null"], in: dir,
                        environment: ["TERM": "xterm"].merging(environment) { _, b in b })
        return String(decoding: r.stdout, as: UTF8.self)
    }

    @Test(.enabled(if: hasScript)) func terminalShowsARedrawnLineWithColourUnlessNoColor() throws {
        let root = try scratchDirectory("progress-tty")
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCorpus(root.appendingPathComponent("corpus"), count: 6)
        try Data("junk".utf8).write(to: root.appendingPathComponent("corpus/junk.npy"))
        let shown = try onTerminal("-o a corpus", in: root, environment: ["NO_COLOR": ""])
        // A redraw: a carriage return, then the progress line itself ("N/7 files", perhaps after a colour code), not
        // a newline (the pty turns every "\n" into "\r\n") nor the blanking before an error line.
        let redraw = /\r(\x1B\[[0-9;]*m)*npyexp: [0-9]+\/7 files/
        #expect(shown.contains(redraw), "no progress line redrawn: \(shown.debugDescription)")
        #expect(shown.contains("7/7 files"), "\(shown)")
        #expect(shown.contains("\u{1B}[31m1 failed"), "failures in red on a terminal")
        #expect(shown.contains("npyexp: corpus/junk.npy: not an NPY file"))
        let plain = try onTerminal("-f -o a corpus", in: root, environment: ["NO_COLOR": "1"])
        #expect(plain.contains("7/7 files, "))
        #expect(plain.contains("1 failed"))
        #expect(!plain.contains("\u{1B}["), "NO_COLOR: no escape sequences")
        let off = try onTerminal("--no-progress -f -o a corpus", in: root)
        #expect(!off.contains("files"))
        let q = try onTerminal("-q -f -o a corpus", in: root)
        #expect(!q.contains("files"))
    }

    @Test func versionAndCompletionScripts() throws {
        let v = try npyexp(["--version"])
        #expect(v.status == 0)
        let version = String(decoding: v.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // "0.1.0 (inflate: isa-l 2.30.0)": the version, then the inflate library in use.
        let number = version.split(separator: " ").first ?? ""
        #expect(number.split(separator: ".").count == 3 && number.split(separator: ".").allSatisfy { Int($0) != nil })
        #expect(version.hasSuffix(")") && version.contains(" (inflate: "), "\(version)")
        let bash = try npyexp(["--generate-completion-script", "bash"])
        #expect(bash.status == 0)
        let script = String(decoding: bash.stdout, as: UTF8.self)
        for option in ["--manifest", "--sums", "--shard", "--files-from", "inspect"] { #expect(script.contains(option)) }
        // The script parses as bash.
        let dir = try scratchDirectory("completion")
        defer { try? FileManager.default.removeItem(at: dir) }
        try bash.stdout.write(to: dir.appendingPathComponent("npyexp.bash"))
        #expect(try run("/bin/bash", ["-n", dir.appendingPathComponent("npyexp.bash").path]).status == 0)
    }
}

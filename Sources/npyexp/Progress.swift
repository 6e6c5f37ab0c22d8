// Progress: one status line on stderr while a batch runs (files done of total, bytes, MB/s, ETA), redrawn in place
// by a background loop. Shown by default only when stderr is a terminal, so cron and CI logs stay silent; `--progress`
// forces it (then, off a terminal, each update is its own line so a log file stays readable). Colour only on a
// terminal and never when NO_COLOR is set (https://no-color.org) or TERM=dumb. Other stderr lines (-v, errors) go
// through `printLine` so they never land in the middle of the status line.
// Relies on NPYExp (ProgressCounter, StandardStreams, Clock), Dispatch and Glibc (isatty).
import Dispatch
import NPYExp
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// When the progress line is drawn.
enum ProgressMode {
    /// Not at all (the default off a terminal).
    case off
    /// Redrawn in place with carriage returns.
    case terminal
    /// A full line per update (forced with --progress while stderr is not a terminal).
    case log

    /// `forced`: the --progress / --no-progress flag, nil when neither was given.
    static func choose(forced: Bool?, quiet: Bool, environment: [String: String]) -> ProgressMode {
        let tty = isatty(2) == 1
        switch forced {
        case false?: return .off
        case true?: return tty ? .terminal : .log
        case nil: return tty && !quiet && environment["TERM"] != "dumb" ? .terminal : .off
        }
    }
}

/// The status line and the stderr lines printed around it.
final class ProgressDisplay: Sendable {
    private struct State {
        var filesDone = 0
        var failed = 0
        /// Input bytes of finished files that the read counter did not see (skipped outputs, failed inputs).
        var unreadBytes = 0
        /// Characters of the line now on screen, to blank its tail when a shorter one replaces it.
        var shown = 0
        var finished = false
    }

    private let mode: ProgressMode
    private let color: Bool
    private let counter: ProgressCounter
    private let totalFiles: Int
    private let totalBytes: Int?
    private let started: Double
    private let interval: Double
    private let state = Mutex(State())
    private let stop = DispatchSemaphore(value: 0)
    private let stopped = DispatchGroup()

    /// With `mode` off nothing is drawn and `printLine` just prints.
    init(mode: ProgressMode, counter: ProgressCounter, totalFiles: Int, totalBytes: Int?, environment: [String: String]) {
        self.mode = mode
        self.counter = counter
        self.totalFiles = totalFiles
        self.totalBytes = totalBytes
        let noColor = (environment["NO_COLOR"].map { !$0.isEmpty } ?? false) || environment["TERM"] == "dumb"
        color = mode == .terminal && !noColor
        started = Clock.now()
        interval = mode == .terminal ? 0.2 : 2.0
    }

    /// Starts the redraw loop (a no-op when off).
    func start() {
        guard mode != .off else { return }
        stopped.enter()
        DispatchQueue.global().async { [self] in
            while stop.wait(timeout: .now() + interval) == .timedOut { draw(final: false) }
            stopped.leave()
        }
    }

    /// Records a finished input; `size` is its size on disk (nil for a pipe).
    /// Whether anything is drawn at all.
    var isShown: Bool { mode != .off }

    func finished(_ report: FileReport, size: Int?) {
        state.withLock { s in
            s.filesDone += 1
            switch report.status {
            case .done: break
            case .skipped: s.unreadBytes += size ?? 0
            case .failed:
                s.failed += 1
                s.unreadBytes += size ?? 0
            }
        }
    }

    /// Stops the loop and leaves the final line on screen (a terminal gets its newline).
    func finish() {
        guard mode != .off else { return }
        stop.signal()
        stopped.wait()
        draw(final: true)
    }

    /// Prints a line on stderr, moving the status line out of the way first.
    func printLine(_ line: String) {
        guard mode == .terminal else {
            printError(line)
            return
        }
        state.withLock { s in
            StandardStreams.errorRaw("\r" + String(repeating: " ", count: s.shown) + "\r" + line + "\n")
            s.shown = 0
        }
    }

    private func draw(final: Bool) {
        let line = statusLine()
        state.withLock { s in
            if s.finished { return }
            switch mode {
            case .off: return
            case .log:
                StandardStreams.errorRaw(line.plain + "\n")
            case .terminal:
                let pad = max(0, s.shown - line.plain.count)
                StandardStreams.errorRaw("\r" + (color ? line.colored : line.plain) + String(repeating: " ", count: pad) + (final ? "\n" : ""))
                s.shown = final ? 0 : line.plain.count
            }
            if final { s.finished = true }
        }
    }

    /// The status text, plain and with the failure count in red.
    private func statusLine() -> (plain: String, colored: String) {
        let (files, failed, unread) = state.withLock { ($0.filesDone, $0.failed, $0.unreadBytes) }
        let read = counter.inputBytesRead
        let elapsed = max(Clock.now() - started, 1e-3)
        var done = read + unread
        if let totalBytes { done = min(done, totalBytes) }
        let rate = Double(read) / elapsed
        var text = "npyexp: \(files)/\(totalFiles) files, \(Format.bytes(done))"
        if let totalBytes { text += " of \(Format.bytes(totalBytes))" }
        text += ", \(Format.fixed(rate / 1e6, 1)) MB/s"
        if let totalBytes, files < totalFiles {
            let left = Double(totalBytes - done)
            text += rate > 0 && read > 0 ? ", ETA \(Format.clock(left / rate))" : ", ETA --:--"
        } else {
            text += ", \(Format.clock(elapsed))"
        }
        guard failed > 0 else { return (text, text) }
        let failure = "\(failed) failed"
        return (text + ", " + failure, text + ", \u{1B}[31m" + failure + "\u{1B}[0m")
    }
}

// StandardStreams: the one writer for standard output and standard error. Lines are written whole under one lock, so
// reports from several worker threads never interleave; a closed or broken stream (EPIPE, EBADF) is ignored, never a
// reason to stop the batch; and when the process is about to exit on a signal, `silence(finalLine:)` takes the lock
// for good so that exactly one last line is printed. Relies on Glibc (write) and Synchronization.Mutex.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Serialised, best-effort writes of whole lines to standard error and standard output.
public enum StandardStreams {
    private static let state = Mutex<Bool>(false)  // true once silenced

    /// Writes `line` and a newline to standard error (nothing once silenced; errors ignored).
    public static func error(_ line: String) { emit(line, fd: 2) }

    /// Writes `line` and a newline to standard output (nothing once silenced; errors ignored).
    public static func output(_ line: String) { emit(line, fd: 1) }

    /// Writes `line` to standard error with no newline appended (progress lines that end in `\r`).
    public static func errorRaw(_ text: String) {
        state.withLock { silenced in
            if !silenced { writeAll(2, FileSystem.bytes(of: text)) }
        }
    }

    /// Prints `finalLine` (if any) on standard error, then drops every later write: the process is exiting.
    public static func silence(finalLine: String?) {
        state.withLock { silenced in
            if !silenced, let finalLine { writeAll(2, FileSystem.bytes(of: finalLine + "\n")) }
            silenced = true
        }
    }

    private static func emit(_ line: String, fd: Int32) {
        var bytes = FileSystem.bytes(of: line)
        bytes.append(UInt8(ascii: "\n"))
        state.withLock { silenced in
            if !silenced { writeAll(fd, bytes) }
        }
    }

    /// Writes every byte unless the stream fails; a failure is dropped (a closed log must not stop the work).
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { b in
            var offset = 0
            while offset < b.count {
                let n = write(fd, b.baseAddress! + offset, b.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

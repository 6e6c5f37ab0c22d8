// NPYExp errors: one Sendable value that names the file, the stage and the fault in one line, and maps to the
// process exit status the CLI documents. C return codes from the POSIX calls are mapped in `SystemCall.check`.
// Errors of the other stages (GzipError, NPYFormatError, ...) are wrapped in `NPYExpError(wrapping:path:)`.
// Relies on Glibc (strerror), Gzip and NPYFormat (their error types).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Gzip
import NPYFormat

/// A failure while processing one input; its description is the line the CLI prints after `npyexp: `.
public struct NPYExpError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What part of the work failed; decides the exit status.
    public enum Category: Sendable, Equatable {
        /// The input's bytes are wrong (gzip, NPY header, data length, dtype). sysexits EX_DATAERR.
        case data
        /// The input could not be found or read. sysexits EX_NOINPUT.
        case noInput
        /// The output could not be created or written (permissions, disk full). sysexits EX_CANTCREAT / EX_IOERR.
        case output
        /// The request itself is impossible (an output path equal to its input, unsupported conversion).
        case usage
    }

    public var path: String
    public var message: String
    public var category: Category

    public init(path: String, _ message: String, category: Category) {
        self.path = path
        self.message = message
        self.category = category
    }

    public var description: String { "\(path): \(message)" }

    /// Any stage's error as one line naming `path`. The stages' own messages already name the fault with a fixed
    /// phrase (see GzipError.phrase, NPYFormatError); this adds what only the file name tells: a `.gz` file that is
    /// neither gzip nor NPY is reported as not gzip, the way `gzip -t` would.
    public init(wrapping error: any Error, path: String) {
        switch error {
        case let e as NPYExpError:
            self = e
        case let e as NPYFormatError where e.kind == .badMagic && path.hasSuffix(".gz"):
            self.init(path: path, "\(GzipError(.notGzip).phrase) (nor an NPY file: bad magic)", category: .data)
        default:
            self.init(path: path, "\(error)", category: .data)
        }
    }
}

/// Wraps POSIX calls: one place turns `-1` plus `errno` into an `NPYExpError` naming the path and the operation.
enum SystemCall {
    static func errnoText(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file or directory"
        case EACCES, EPERM: return "permission denied"
        case ENOSPC: return "no space left on device"
        case EDQUOT: return "disk quota exceeded"
        case EROFS: return "read-only file system"
        case EISDIR: return "is a directory"
        case ENOTDIR: return "not a directory"
        case EFBIG: return "file too large"
        case EIO: return "input/output error"
        default:
            return String(cString: strerror(code)).lowercased()
        }
    }

    /// Returns `result` when it is not -1; otherwise throws an error describing `operation` on `path`.
    @discardableResult
    static func check<T: BinaryInteger>(
        _ result: T, _ operation: String, path: String, category: NPYExpError.Category
    ) throws(NPYExpError) -> T {
        if result == -1 {
            let code = errno
            throw NPYExpError(path: path, "\(operation): \(errnoText(code))", category: category)
        }
        return result
    }

    /// Retries a call interrupted by a signal, as the POSIX I/O calls require.
    static func retrying<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }
}

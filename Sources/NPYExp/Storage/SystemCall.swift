// SystemCall: the one place where POSIX return codes become errors. `-1` plus `errno` turns into an `NPYExpError`
// naming the path and the operation; errno is kept as a value until the message is made. All platform `#if` for the
// C library live in this module's files that call it. Relies on Glibc (strerror).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
        case EPIPE: return "broken pipe"
        case ENAMETOOLONG: return "file name too long"
        case ELOOP: return "too many levels of symbolic links"
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
            throw NPYExpError(path: path, "\(operation): \(errnoText(code))", category: category, fault: .system(errno: code))
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

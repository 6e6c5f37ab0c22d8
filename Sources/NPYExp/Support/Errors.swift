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
        /// Another npyexp run holds the input; the batch comes back to it later (never reported as such).
        case busy
    }

    /// What went wrong, as a value callers (and tests) can branch on instead of matching text.
    public enum Fault: Sendable, Equatable {
        /// The gzip stream is damaged.
        case gzip(GzipError.Kind)
        /// The NPY header is wrong or unsupported.
        case format(NPYFormatError.Kind)
        /// The stream as a whole: empty, truncated header, data shorter or longer than the shape.
        case stream(NPYStreamFault.Kind)
        /// The zip archive (.npz) is damaged or uses what npyexp does not read.
        case archive(ArchiveFault.Kind)
        /// A system call failed with this errno.
        case system(errno: Int32)
        /// A dtype conversion that is refused.
        case conversion
        /// Another run holds the input.
        case busy
        /// The run's plan was refused (collision, an input would be replaced).
        case refused
        /// Anything else (the message says what).
        case other
    }

    /// The file the line names (the input, or for write faults the output).
    public var path: String
    /// The line after `PATH: `.
    public var message: String
    /// Decides the exit status.
    public var category: Category
    /// The typed fault behind the message.
    public var fault: Fault

    /// An error for `path` with `message`, in `category`, of `fault`.
    public init(path: String, _ message: String, category: Category, fault: Fault = .other) {
        self.path = path
        self.message = message
        self.category = category
        self.fault = category == .busy ? .busy : fault
    }

    /// `PATH: message`, the line the CLI prints after `npyexp: `.
    public var description: String { "\(path): \(message)" }

    /// Any stage's error as one line naming `path`. The stages' own messages already name the fault with a fixed
    /// phrase (see GzipError.phrase, NPYFormatError); this adds what only the file name tells: a `.gz` file that is
    /// neither gzip nor NPY is reported as not gzip, the way `gzip -t` would.
    /// `insideGzip`: the bytes were gzip, so a bad magic is the content's, not the container's.
    public init(wrapping error: any Error, path: String, insideGzip: Bool = false) {
        switch error {
        case let e as NPYExpError:
            self = e
        case let e as NPYFormatError where e.kind == .badMagic && path.hasSuffix(".gz") && !insideGzip:
            self.init(
                path: path, "\(GzipError(.notGzip).phrase) (nor an NPY file: bad magic)", category: .data,
                fault: .gzip(.notGzip))
        case let e as NPYFormatError where e.kind == .badMagic && path.hasSuffix(".npz") && !insideGzip:
            self.init(
                path: path, "\(ArchiveFault(.notZip).phrase) (nor an NPY file: bad magic)", category: .data,
                fault: .archive(.notZip))
        case let e as NPYFormatError:
            self.init(path: path, e.description, category: .data, fault: .format(e.kind))
        case let e as GzipError:
            self.init(path: path, e.description, category: .data, fault: .gzip(e.kind))
        case let e as NPYStreamFault:
            self.init(path: path, e.description, category: .data, fault: .stream(e.kind))
        case let e as ArchiveFault:
            self.init(path: path, e.description, category: .data, fault: .archive(e.kind))
        case let e as MemberFault:
            // The member's own fault (gzip words for deflate data, NPY words for its content), named with it.
            let inner = NPYExpError(wrapping: e.error, path: path, insideGzip: true)
            self = inner
            if inner.category != .output { message = "member '\(e.member)': " + inner.message }
        case let e as ConversionError:
            self.init(path: path, e.description, category: .data, fault: .conversion)
        default:
            self.init(path: path, "\(error)", category: .data)
        }
    }
}

// FileSystem: every system call that takes a path, and the one conversion between file names and Swift strings.
//
// Linux file names are bytes, not UTF-8. npyexp keeps names in `String`s (its API and messages are text), so the
// conversion must lose nothing: bytes that are not valid UTF-8 become the code points U+10FF80...U+10FFFF (one per
// byte, 0x80-0xFF), and a name that really contains one of those code points has its bytes escaped the same way, so
// that bytes -> String -> bytes is the identity for every name. Valid UTF-8 names are unchanged. Paths go back to
// bytes here before every system call, and text that carries names (sidecars, sums files, messages) is written with
// `bytes(of:)`, so a non-UTF-8 name is read, processed and written back with the very same bytes. All platform
// `#if` for these calls is here. Relies on Glibc and CSystem (O_TMPFILE, linkat).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSystem

/// Path-taking system calls on byte-exact names.
enum FileSystem {
    /// First code point of the escape range: byte b (0x80...0xFF) is U+10FF00 + b.
    private static let escapeBase: UInt32 = 0x10_FF00

    /// The string for a name's bytes (lossless: see the file header).
    static func string<C: Collection>(fromBytes bytes: C) -> String where C.Element == UInt8 {
        let array = Array(bytes)
        if array.allSatisfy({ $0 < 0x80 }) { return String(decoding: array, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < array.count {
            let (scalar, length) = decodeOne(array, at: i)
            if let scalar, scalar.value < escapeBase + 0x80 {
                scalars.append(scalar)
            } else {
                for b in array[i..<(i + length)] { scalars.append(escaped(b)) }
            }
            i += length
        }
        return String(scalars)
    }

    /// The bytes a string stands for (the inverse of `string(fromBytes:)`; plain UTF-8 for ordinary text).
    static func bytes(of string: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        for scalar in string.unicodeScalars {
            if scalar.value >= escapeBase + 0x80 && scalar.value <= escapeBase + 0xFF {
                out.append(UInt8(scalar.value - escapeBase))
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        return out
    }

    /// Whether a name holds bytes that are not UTF-8 (shown escaped in JSON).
    static func isEscapedByte(_ scalar: Unicode.Scalar) -> UInt8? {
        scalar.value >= escapeBase + 0x80 && scalar.value <= escapeBase + 0xFF ? UInt8(scalar.value - escapeBase) : nil
    }

    private static func escaped(_ byte: UInt8) -> Unicode.Scalar {
        byte < 0x80 ? Unicode.Scalar(byte) : Unicode.Scalar(escapeBase + UInt32(byte))!
    }

    /// One UTF-8 sequence at `i`: its scalar (nil when invalid) and how many bytes it spans (1 when invalid).
    private static func decodeOne(_ b: [UInt8], at i: Int) -> (Unicode.Scalar?, Int) {
        let lead = b[i]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let length: Int
        let minimum: UInt32
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: (length, minimum, value) = (2, 0x80, UInt32(lead & 0x1F))
        case 0xE0...0xEF: (length, minimum, value) = (3, 0x800, UInt32(lead & 0x0F))
        case 0xF0...0xF4: (length, minimum, value) = (4, 0x10000, UInt32(lead & 0x07))
        default: return (nil, 1)
        }
        guard i + length <= b.count else { return (nil, 1) }
        for k in 1..<length {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return (nil, 1) }
            value = value << 6 | UInt32(c & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return (nil, 1) }
        return (scalar, length)
    }

    /// Runs `body` with the path's bytes as a NUL-terminated C string.
    static func withPath<T>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        var bytes = bytes(of: path)
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { b in
            try b.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    @discardableResult
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        withPath(path) { Glibc.open($0, flags, mode) }
    }

    @discardableResult
    static func stat(_ path: String, _ st: inout stat) -> Int32 {
        withPath(path) { systemStat($0, &st) }
    }

    @discardableResult
    static func lstat(_ path: String, _ st: inout stat) -> Int32 {
        withPath(path) { systemLstat($0, &st) }
    }

    static func opendir(_ path: String) -> OpaquePointer? {
        withPath(path) { Glibc.opendir($0) }
    }

    @discardableResult
    static func mkdir(_ path: String, _ mode: mode_t) -> Int32 {
        withPath(path) { Glibc.mkdir($0, mode) }
    }

    @discardableResult
    static func unlink(_ path: String) -> Int32 {
        withPath(path) { Glibc.unlink($0) }
    }

    @discardableResult
    static func rename(_ from: String, _ to: String) -> Int32 {
        withPath(from) { a in withPath(to) { b in Glibc.rename(a, b) } }
    }

    /// A second name `to` for the directory entry `from` (a symbolic link itself, not its target): 0, or -1 with
    /// errno set.
    @discardableResult
    static func link(_ from: String, _ to: String) -> Int32 {
        withPath(from) { a in withPath(to) { b in Glibc.link(a, b) } }
    }

    /// A new unnamed regular file in `directory` (O_TMPFILE, mode 0644), or -1 with errno set.
    static func openUnnamed(inDirectory directory: String) -> Int32 {
        withPath(directory.isEmpty ? "." : directory) { npyexp_open_unnamed($0) }
    }

    /// Gives the unnamed file open as `fd` the name `path`: 0, or -1 with errno set (EEXIST when taken).
    static func linkUnnamed(_ fd: Int32, to path: String) -> Int32 {
        withPath(path) { npyexp_link_unnamed(fd, $0) }
    }

    /// The resolved path, or nil (errno set) when it cannot be resolved.
    static func realpath(_ path: String) -> String? {
        withPath(path) { p -> String? in
            guard let r = Glibc.realpath(p, nil) else { return nil }
            defer { free(r) }
            return string(fromBytes: UnsafeBufferPointer(start: UnsafeRawPointer(r).assumingMemoryBound(to: UInt8.self), count: strlen(r)))
        }
    }

    /// fnmatch(3) on byte-exact pattern and name.
    static func fnmatch(_ pattern: String, _ name: String, _ flags: Int32) -> Int32 {
        withPath(pattern) { p in withPath(name) { n in Glibc.fnmatch(p, n, flags) } }
    }

    /// The name of a directory entry, byte-exact.
    static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let length = bytes.firstIndex(of: 0) ?? bytes.count
            return string(fromBytes: bytes[..<length])
        }
    }

    /// A NUL-terminated C string (argv, getcwd) as a byte-exact string.
    static func string(cString: UnsafePointer<CChar>) -> String {
        string(fromBytes: UnsafeBufferPointer(start: UnsafeRawPointer(cString).assumingMemoryBound(to: UInt8.self), count: strlen(cString)))
    }
}

// At file scope `stat` and `lstat` name the C functions (inside `FileSystem` they would name its own members).
private func systemStat(_ path: UnsafePointer<CChar>, _ st: inout stat) -> Int32 { stat(path, &st) }
private func systemLstat(_ path: UnsafePointer<CChar>, _ st: inout stat) -> Int32 { lstat(path, &st) }

/// The command line as byte-exact strings (Swift's `CommandLine.arguments` repairs non-UTF-8 bytes).
public enum ByteExactArguments {
    /// argv, each argument decoded without loss: as the C runtime handed it over (CSystem), which works where /proc
    /// is not mounted, unlike `CommandLine` on Linux; `CommandLine`'s where that was not captured.
    public static var all: [String] {
        if let argv = npyexp_argv() {
            return (0..<Int(npyexp_argc())).compactMap { i in argv[i].map { FileSystem.string(cString: $0) } }
        }
        return (0..<Int(CommandLine.argc)).compactMap { i in
            CommandLine.unsafeArgv[i].map { FileSystem.string(cString: $0) }
        }
    }
}

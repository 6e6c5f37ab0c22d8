// Files: the POSIX side of the pipeline. Inputs are read with plain read(2) in caller-sized chunks; outputs are written
// to a hidden temporary file in the output directory, fsynced and renamed into place (PostgreSQL's durable_rename),
// so that nothing partial is ever visible at an output path. Temporary names are registered so that a signal handler
// can remove them. Relies on Glibc and Synchronization.Mutex.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Synchronization

/// An input opened for streaming: a regular file or a pipe (standard input).
final class InputFile {
    let path: String
    let fd: Int32
    private let ownsDescriptor: Bool
    /// Size and modification time when opened, to notice an input that changes while it is read.
    private let openedStat: stat?
    /// SHA-256 of every byte read, so the input's digest costs no second pass.
    private var hasher = SHA256()
    private(set) var bytesRead = 0
    var progress: ProgressCounter?

    init(path: String) throws(NPYExpError) {
        self.path = path
        let fd = SystemCall.retrying { open(path, O_RDONLY | O_CLOEXEC) }
        try SystemCall.check(fd, "cannot open", path: path, category: .noInput)
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw NPYExpError(path: path, "is a directory", category: .noInput)
        }
        self.fd = fd
        self.ownsDescriptor = true
        self.openedStat = (st.st_mode & S_IFMT) == S_IFREG ? st : nil
    }

    /// Standard input, not closed on deinit.
    init(standardInput: ()) {
        path = "-"
        fd = 0
        ownsDescriptor = false
        openedStat = nil
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(NPYExpError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n = SystemCall.retrying { Glibc.read(fd, base, buffer.count) }
        try SystemCall.check(n, "read error", path: path, category: .noInput)
        hasher.update(bufferPointer: UnsafeRawBufferPointer(start: base, count: n))
        bytesRead += n
        progress?.add(n)
        return n
    }

    /// Hex SHA-256 of the bytes read so far (all of them after end of file).
    func digest() -> String { Checksums.hex(hasher.finalize()) }

    /// Fills `buffer` as far as the input allows (short only at end of file).
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(NPYExpError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Throws when the file's size or modification time differs from when it was opened.
    func checkUnchanged() throws(NPYExpError) {
        guard let before = openedStat else { return }
        var now = stat()
        try SystemCall.check(fstat(fd, &now), "cannot stat", path: path, category: .noInput)
        if now.st_size != before.st_size || now.st_mtim.tv_sec != before.st_mtim.tv_sec
            || now.st_mtim.tv_nsec != before.st_mtim.tv_nsec
        {
            throw NPYExpError(path: path, "input changed while being read", category: .data)
        }
    }

    /// Identity of a regular input file: size and modification time in nanoseconds.
    var identity: (size: Int, mtimeNanoseconds: Int)? {
        guard let st = openedStat else { return nil }
        return (Int(st.st_size), Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec))
    }
}

/// Temporary files of this process that a signal handler must remove.
public enum TemporaryFiles {
    private static let registry = Mutex<Set<String>>([])

    static func register(_ path: String) { registry.withLock { _ = $0.insert(path) } }
    static func unregister(_ path: String) { registry.withLock { _ = $0.remove(path) } }

    /// Removes every registered temporary file. Called from the CLI's signal handling before it exits.
    public static func removeAll() {
        let paths = registry.withLock { set -> [String] in
            let all = Array(set)
            set.removeAll()
            return all
        }
        for path in paths { unlink(path) }
    }

    /// The marker every temporary name carries, so that leftovers of a killed run can be recognised.
    public static let marker = ".npyexp-tmp."

    /// A hidden temporary name beside `finalPath`: `.NAME.npyexp-tmp.PID.RANDOM`.
    static func name(for finalPath: String) -> String {
        let (dir, base) = PathTools.split(finalPath)
        let random = UInt64.random(in: 0...UInt64.max)
        let hex = String(random, radix: 16)
        return PathTools.join(dir, ".\(base)\(marker)\(getpid()).\(hex)")
    }
}

/// An output written atomically: all bytes go to a temporary file that `commit()` fsyncs and renames into place.
final class AtomicFile {
    let finalPath: String
    let temporaryPath: String
    var fd: Int32
    var finished = false

    init(finalPath: String) throws(NPYExpError) {
        self.finalPath = finalPath
        let temporary = TemporaryFiles.name(for: finalPath)
        temporaryPath = temporary
        TemporaryFiles.register(temporary)
        let fd = SystemCall.retrying { open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        if fd == -1 {
            TemporaryFiles.unregister(temporary)
            try SystemCall.check(fd, "cannot create output", path: finalPath, category: .output)
        }
        self.fd = fd
    }

    deinit {
        if !finished { abandon() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(NPYExpError) {
        try FileDescriptorWriter.writeAll(fd: fd, bytes, path: finalPath)
    }

    /// Makes the data durable (when `sync`) and moves it to the final name.
    func commit(sync: Bool) throws(NPYExpError) {
        do {
            if sync {
                try SystemCall.check(fsync(fd), "fsync failed", path: finalPath, category: .output)
            }
            let closed = close(fd)
            fd = -1
            try SystemCall.check(closed, "close failed", path: finalPath, category: .output)
            try SystemCall.check(
                rename(temporaryPath, finalPath), "cannot rename into place", path: finalPath, category: .output)
            finished = true
            TemporaryFiles.unregister(temporaryPath)
        } catch {
            abandon()
            throw error
        }
    }

    /// Removes the temporary file; the final path is left untouched.
    func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
        TemporaryFiles.unregister(temporaryPath)
        finished = true
    }
}

enum FileDescriptorWriter {
    static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(NPYExpError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = SystemCall.retrying { Glibc.write(fd, p, left) }
            try SystemCall.check(n, "write error", path: path, category: .output)
            p += n
            left -= n
        }
    }
}

/// Small path helpers on byte strings; no Foundation, so that paths are taken exactly as given.
enum PathTools {
    /// (directory, last component); the directory is "." for a bare name.
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = path[..<slash]
        return (dir.isEmpty ? "/" : String(dir), String(path[path.index(after: slash)...]))
    }

    static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty || a == "." { return b }
        if b.isEmpty { return a }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    static func fileExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and its parents (mode 0755 before umask).
    static func makeDirectories(_ path: String) throws(NPYExpError) {
        if path.isEmpty || path == "." || path == "/" || isDirectory(path) { return }
        let (parent, _) = split(path)
        if parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) == -1 && errno != EEXIST {
            try SystemCall.check(Int32(-1), "cannot create directory", path: path, category: .output)
        }
    }

    /// fsyncs a directory so that renames inside it are durable.
    static func syncDirectory(_ path: String) throws(NPYExpError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try SystemCall.check(fd, "cannot open directory", path: path, category: .output)
        defer { close(fd) }
        try SystemCall.check(fsync(fd), "fsync of directory failed", path: path, category: .output)
    }

    static func realPath(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}

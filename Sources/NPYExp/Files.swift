// Files: the POSIX side of the pipeline. Inputs are read with plain read(2) in caller-sized chunks; outputs are written
// to a hidden temporary file in the output directory, fsynced and renamed into place (PostgreSQL's durable_rename),
// so that nothing partial is ever visible at an output path. Temporary files are created and removed under one lock so
// that the CLI's signal thread can remove every one of them; leftovers of a killed run (SIGKILL, power loss) are
// removed by the next run that writes in the same directory. Pipeline inputs are held under flock(2) while they are
// processed, so that overlapping runs do each input once. Relies on Glibc and Synchronization.Mutex.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Synchronization

/// Marks the error of an input that another run holds locked (see `InputFile.init(path:exclusive:wait:)`).
enum InputBusy {
    static let message = "input busy: held by another npyexp run"
}

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

    /// Opens `path` for reading. With `exclusive` (the pipeline's inputs) the file is held under an exclusive
    /// flock(2) until closed: another npyexp run that reaches the same input waits, then finds its output complete
    /// and skips it, so overlapping runs neither do an input twice nor interleave an output with its sidecar.
    /// The lock is advisory and best effort: where flock is unsupported (some network file systems) it is skipped.
    /// With `wait` false, an input another run holds is not waited for: `InputBusy` is thrown instead, so that a
    /// caller holding other inputs' locks (a group commit) never waits while holding them (no deadlock between runs).
    init(path: String, exclusive: Bool = true, wait: Bool = true) throws(NPYExpError) {
        self.path = path
        let fd = SystemCall.retrying { open(path, O_RDONLY | O_CLOEXEC) }
        try SystemCall.check(fd, "cannot open", path: path, category: .noInput)
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw NPYExpError(path: path, "is a directory", category: .noInput)
        }
        if exclusive && (st.st_mode & S_IFMT) == S_IFREG {
            let locked = SystemCall.retrying { flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) }
            if locked == -1 && errno == EWOULDBLOCK {
                close(fd)
                throw NPYExpError(path: path, InputBusy.message, category: .noInput)
            }
            // The identity is taken after the lock: a writer that held it may have replaced the bytes meanwhile.
            _ = fstat(fd, &st)
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

/// Temporary files of this process, which the CLI's signal thread removes before exiting, and leftovers of killed runs.
public enum TemporaryFiles {
    private struct State {
        var paths: Set<String> = []
        /// Set by `removeAll()`: the process is exiting, so no new temporary file may appear.
        var closed = false
        /// Directories already swept for stale temporaries by this process.
        var swept: Set<String> = []
    }
    private static let state = Mutex(State())

    /// Creates `path` exclusively (mode 0644) and registers it, under the lock that `removeAll()` takes, so a
    /// signal arriving at any moment finds every temporary file that exists. Returns the descriptor, or -1 with
    /// `errno` set (ECANCELED once `removeAll()` has run).
    static func create(_ path: String) -> Int32 {
        // errno travels out of the lock as a value: unlocking may make system calls of its own.
        let (fd, code) = state.withLock { s -> (Int32, Int32) in
            if s.closed { return (-1, ECANCELED) }
            let fd = SystemCall.retrying { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
            if fd >= 0 { s.paths.insert(path) }
            return (fd, fd >= 0 ? 0 : errno)
        }
        if fd < 0 { errno = code }
        return fd
    }

    static func unregister(_ path: String) { state.withLock { _ = $0.paths.remove(path) } }

    /// Unlinks `path` if it is still registered (not yet renamed into place).
    static func remove(_ path: String) {
        state.withLock { s in
            if s.paths.remove(path) != nil { unlink(path) }
        }
    }

    /// Removes every temporary file of this process and refuses new ones. Called by the CLI's signal thread (a
    /// normal thread, so locks and allocation are safe there) right before it exits with 128+N.
    public static func removeAll() {
        state.withLock { s in
            s.closed = true
            for path in s.paths { unlink(path) }
            s.paths.removeAll()
        }
    }

    /// The marker every temporary name carries, so that leftovers of a killed run can be recognised.
    public static let marker = ".npyexp-tmp."

    /// A leftover whose writer is gone is removed once it has not been written for this long; the delay covers
    /// writers in another PID namespace (containers sharing a volume) whose PIDs look dead from here.
    public static let staleAfterDeadWriter: Int = 60
    /// Any leftover untouched this long is removed, even if its PID now belongs to a live (unrelated) process.
    public static let staleAfterAnyWriter: Int = 24 * 3600

    /// A hidden temporary name beside `finalPath`: `.NAME.npyexp-tmp.PID.RANDOM`.
    static func name(for finalPath: String) -> String {
        let (dir, base) = PathTools.split(finalPath)
        let random = UInt64.random(in: 0...UInt64.max)
        let hex = String(random, radix: 16)
        return PathTools.join(dir, ".\(base)\(marker)\(getpid()).\(hex)")
    }

    /// The writer's PID when `name` is exactly a temporary name npyexp makes (`.NAME.npyexp-tmp.PID.HEX`).
    public static func writerPID(ofTemporaryName name: String) -> Int32? {
        let bytes = Array(name.utf8)
        let mark = Array(marker.utf8)
        // The last occurrence of the marker: NAME itself may contain it.
        guard bytes.first == UInt8(ascii: "."), bytes.count > mark.count + 4,
            let at = stride(from: bytes.count - mark.count, through: 2, by: -1).first(where: {
                bytes[$0..<$0 + mark.count].elementsEqual(mark)
            })
        else { return nil }
        let tail = bytes[(at + mark.count)...].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard tail.count == 2, (1...10).contains(tail[0].count), (1...16).contains(tail[1].count),
            tail[0].allSatisfy({ (0x30...0x39).contains($0) }),
            tail[1].allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
            let pid = Int32(String(decoding: tail[0], as: UTF8.self)), pid > 0
        else { return nil }
        return pid
    }

    /// Once per directory and process: removes temporaries left there by killed runs. Only regular files with
    /// exactly npyexp's temporary names are touched, and only when their writer is gone (no such PID, and not
    /// written for `staleAfterDeadWriter` seconds) or they are older than `staleAfterAnyWriter` seconds.
    /// Returns the names removed.
    @discardableResult
    public static func removeStale(in directory: String) -> [String] {
        let dir = directory.isEmpty ? "." : directory
        let first = state.withLock { s in s.swept.insert(dir).inserted }
        guard first, let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var removed: [String] = []
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            guard let pid = writerPID(ofTemporaryName: name), pid != getpid() else { continue }
            let full = PathTools.join(dir, name)
            var st = stat()
            guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let idle = Int(now.tv_sec) - Int(st.st_mtim.tv_sec)
            let writerGone = kill(pid, 0) == -1 && errno == ESRCH
            if (writerGone && idle >= staleAfterDeadWriter) || idle >= staleAfterAnyWriter {
                if unlink(full) == 0 { removed.append(name) }
            }
        }
        return removed
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
        TemporaryFiles.removeStale(in: PathTools.split(finalPath).0)
        let fd = TemporaryFiles.create(temporary)
        if fd == -1 {
            let code = errno
            switch code {
            case EACCES, EPERM, EROFS:
                throw NPYExpError(
                    path: finalPath, "output directory not writable: \(SystemCall.errnoText(code))", category: .output)
            case ECANCELED:
                throw NPYExpError(path: finalPath, "interrupted: exiting on a signal", category: .output)
            default:
                throw NPYExpError(
                    path: finalPath, "cannot create output: \(SystemCall.errnoText(code))", category: .output)
            }
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
        if !finished { TemporaryFiles.remove(temporaryPath) }
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

    /// Refuses an output that would land outside `outputDirectory`: a relative path that is absolute or has a `..`
    /// component (a glob such as `a/*/../../b/*.npy`), or an existing directory on the way that is a symbolic link
    /// leading out. Checked before any directory is created, so nothing at all is made outside.
    static func checkStaysInside(relativePath: String, outputDirectory: String, input: String) throws(NPYExpError) {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        if relativePath.hasPrefix("/") || components.contains("..") {
            throw NPYExpError(
                path: input, "refused: output path would leave the output directory (\(relativePath))",
                category: .usage)
        }
        guard let root = realPath(outputDirectory) else { return }
        var dir = outputDirectory
        for component in components.dropLast() where !component.isEmpty && component != "." {
            dir = join(dir, String(component))
            guard let real = realPath(dir) else { return }  // not there yet: mkdir makes real directories inside
            if real != root && !real.hasPrefix(root == "/" ? "/" : root + "/") {
                throw NPYExpError(
                    path: input, "refused: \(dir) is a symbolic link out of the output directory (to \(real))",
                    category: .usage)
            }
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}

// InputFile: the inputs of the pipeline, read with plain read(2) in caller-sized chunks through a running SHA-256
// (the input's digest costs no second pass), and held under flock(2) while processed so that overlapping runs do
// each input once; a locked regular file is read up to its size at opening, without the read(2) that returns 0.
// A large input's reader thread hands the hashing to a thread of its own (`HashThread`), so SHA-256 of one piece and
// inflate of the same piece run at once. Relies on Glibc, Crypto and Concurrency (HandOffThread).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto

/// An input opened for streaming: a regular file or a pipe (standard input).
final class InputFile {
    let path: String
    let fd: Int32
    private let ownsDescriptor: Bool
    /// Size and modification time when opened, to notice an input that changes while it is read.
    private let openedStat: stat?
    /// SHA-256 of every byte read, so the input's digest costs no second pass (until `hashOnAnotherThread()`).
    private var hasher = SHA256()
    /// Where the hashing goes once it is moved off the reading thread.
    private var hashThread: HashThread?
    private(set) var bytesRead = 0
    var progress: ProgressCounter?
    /// For a locked regular file, its size when opened: reading stops there without another read(2).
    private let knownSize: Int?

    /// Opens `path` for reading. With `exclusive` (the pipeline's inputs) the file is held under an exclusive
    /// flock(2) until closed: another npyexp run that reaches the same input waits, then finds its output complete
    /// and skips it, so overlapping runs neither do an input twice nor interleave an output with its sidecar.
    /// The lock is advisory and best effort: where flock is unsupported (some network file systems) it is skipped.
    /// With `wait` false, an input another run holds is not waited for: an error of category `.busy` is thrown instead, so that a
    /// caller holding other inputs' locks (a group commit) never waits while holding them (no deadlock between runs).
    init(path: String, exclusive: Bool = true, wait: Bool = true) throws(NPYExpError) {
        self.path = path
        let fd = SystemCall.retrying { FileSystem.open(path, O_RDONLY | O_CLOEXEC) }
        try SystemCall.check(fd, "cannot open", path: path, category: .noInput)
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw NPYExpError(path: path, "is a directory", category: .noInput)
        }
        if exclusive && (st.st_mode & S_IFMT) == S_IFREG {
            var locked = SystemCall.retrying { flock(fd, LOCK_EX | LOCK_NB) }
            if locked == -1 && errno == EWOULDBLOCK && wait {
                locked = SystemCall.retrying { flock(fd, LOCK_EX) }
                // The identity is taken after the wait: the run that held it may have replaced the bytes meanwhile.
                _ = fstat(fd, &st)
            }
            if locked == -1 && errno == EWOULDBLOCK {
                close(fd)
                throw NPYExpError(path: path, "input busy: held by another npyexp run", category: .busy)
            }
        }
        self.fd = fd
        self.ownsDescriptor = true
        self.openedStat = (st.st_mode & S_IFMT) == S_IFREG ? st : nil
        // A locked regular input is read up to the size it had when opened: the read that would return 0 at the end
        // is not made (a file that grew is caught by `checkUnchanged` either way). Size 0 may be a /proc-like file.
        knownSize = exclusive && (st.st_mode & S_IFMT) == S_IFREG && st.st_size > 0 ? Int(st.st_size) : nil
    }

    /// Standard input, not closed on deinit.
    init(standardInput: ()) {
        path = "-"
        fd = 0
        ownsDescriptor = false
        openedStat = nil
        knownSize = nil
    }

    deinit {
        hashThread?.stop()
        if ownsDescriptor { close(fd) }
    }

    /// From now on the bytes read are hashed on a thread of its own while the caller inflates them, up to `lag`
    /// reads behind. The caller must leave the bytes of each read untouched until `lag` more reads have been made,
    /// or until `settleHash()`: `read` waits, before it reads, until fewer than `lag` reads are still being hashed.
    func hashOnAnotherThread(lag: Int) {
        if hashThread == nil { hashThread = HashThread(hasher, lag: lag) }
    }

    /// Waits until every byte read so far is hashed (before the caller reuses the memory it read into).
    func settleHash() {
        hashThread?.wait()
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(NPYExpError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if let knownSize, bytesRead >= knownSize { return 0 }
        hashThread?.waitForRoom()
        let n = SystemCall.retrying { Glibc.read(fd, base, buffer.count) }
        try SystemCall.check(n, "read error", path: path, category: .noInput)
        if let hashThread {
            hashThread.start(UnsafeRawBufferPointer(start: base, count: n))
        } else {
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: base, count: n))
        }
        bytesRead += n
        progress?.add(n)
        return n
    }

    /// Reads up to `count` bytes at `offset` without moving the stream position or hashing them (a zip archive's
    /// central directory, read ahead of its members); fewer at end of file.
    func read(at offset: Int, count: Int) throws(NPYExpError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = bytes.withUnsafeMutableBytes { b in
                SystemCall.retrying { pread(fd, b.baseAddress! + filled, count - filled, off_t(offset + filled)) }
            }
            try SystemCall.check(n, "read error", path: path, category: .noInput)
            if n == 0 { break }
            filled += n
        }
        return Array(bytes[0..<filled])
    }

    /// Hex SHA-256 of the bytes read so far (all of them after end of file).
    func digest() -> String { Checksums.hex((hashThread?.settled() ?? hasher).finalize()) }

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

/// A running SHA-256 fed on a thread of its own: one piece at a time, handed over by `start` and finished before
/// `wait` returns, so the reading thread inflates a piece while it is being hashed. The hasher is touched only by the
/// thread while a piece is out, and only by the owner once `wait` has returned; the lock guards the rest.
final class HashThread: @unchecked Sendable {
    /// The running hash, shared with the worker: touched by it only while a piece is out, by the owner only after
    /// `wait` (see HandOffThread).
    private final class Running {
        var hasher: SHA256
        init(_ hasher: SHA256) { self.hasher = hasher }
    }
    private let running: Running
    private let worker: HandOffThread<UnsafeRawBufferPointer>

    /// Continues `earlier` (the hash of what was read before the move); at most `lag` pieces may be outstanding.
    init(_ earlier: SHA256, lag: Int) {
        let running = Running(earlier)
        self.running = running
        worker = HandOffThread(capacity: lag) { running.hasher.update(bufferPointer: $0) }
    }

    /// Waits until fewer than `lag` pieces are outstanding.
    func waitForRoom() { worker.waitForRoom() }

    /// Hashes `bytes` on the thread; the caller leaves them untouched until `lag` more pieces have been handed
    /// over after them, or `wait` has returned.
    func start(_ bytes: UnsafeRawBufferPointer) { worker.handOver(bytes) }

    /// Waits until the piece handed over (if any) is hashed.
    func wait() { worker.wait() }

    /// The hash of everything handed over so far.
    func settled() -> SHA256 {
        wait()
        return running.hasher
    }

    /// Finishes the piece in hand, then ends the thread and waits for it.
    func stop() { worker.stop() }
}

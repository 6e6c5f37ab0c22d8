// TemporaryFiles: how the temporary files behind every output are made and put in place, every named one this process
// creates (so that the signal thread can remove them all before exiting), and the removal of named temporaries that
// killed runs left behind.
//
// Where the output's file system has O_TMPFILE (ext4, xfs, btrfs, tmpfs...), a temporary has no name at all: it is an
// open file that the kernel frees when the process ends, however it ends, and it appears under its final name only when
// linked there (linkat(2) through /proc/self/fd). Nothing is left to clean up, even after SIGKILL (but for the
// replacement's hidden names below, within the step that places a pair), and making and linking it takes the
// directory's lock once instead of twice (a named file is created, then renamed). A pair (output and sidecar) is placed
// with its directory flocked, and the earlier output it replaces is kept under a second hidden name until the sidecar
// is in place too, so that a failure can put it back. When the final name is taken (an earlier output),
// the file is linked to a temporary name and renamed over it, so that the replacement stays atomic. Each file system is
// tried once (an unnamed file linked and unlinked) before any output is written unnamed there, as an unnamed file that
// cannot be linked cannot be saved. Elsewhere, or with NPYEXP_TEMPORARIES=named, a temporary is named
// `.npyexp-tmp.PID.HEX` in its output's directory: short, so every output whose own name fits NAME_MAX can be written,
// and recognisable, so that leftovers can be found. Its writer holds an exclusive flock(2) on it from creation until it
// is renamed or removed. A leftover whose lock can be taken therefore has no writer: it is removed at once (a rerun
// right after SIGKILL cleans up). Where the file system has no flock, the age rule is the fallback: no such PID and not
// written for 60 s, or not written for 24 h. Relies on Glibc, CSystem (through FileSystem) and Synchronization.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Temporary files of this process, which the CLI's signal thread removes before exiting, and leftovers of killed runs.
public enum TemporaryFiles {
    private struct State {
        /// Registered temporaries: created, or being created (see `creating`).
        var paths: Set<String> = []
        /// Creations and renames under way, outside the lock: `removeAll()` waits for them to end (a creation's
        /// name is registered before the file is made; a rename step's names leave the registry when it ends).
        var underWay = 0
        /// Set by `removeAll()`: the process is exiting, so no new temporary file may appear.
        var closed = false
    }
    /// A pthread mutex with a condition (`removeAll()` waits on it for creations under way), whose waiters sleep.
    /// File creations, which ext4 can make slow, run outside it, so jobs on several cores create files at once.
    private static let state = LockedState()

    private final class LockedState: @unchecked Sendable {
        private let lock = ConditionLock()
        private var value = State()
        func withLock<T>(_ body: (inout State) throws -> T) rethrows -> T { try lock.withLock { try body(&value) } }
        func wait<T>(until ready: (State) -> Bool, then body: (inout State) -> T) -> T {
            lock.wait(until: { ready(value) }, then: { body(&value) })
        }
        func broadcast() { lock.broadcast() }
    }
    /// Directories already swept for stale temporaries by this process (apart from `state`: asking whether a
    /// directory was swept never waits for the registry).
    private static let swept = Mutex<Set<String>>([])
    /// This process's ID, as temporary names carry it.
    private static let processID = getpid()

    /// The environment variable that chooses how temporaries are made: `named` forces named ones; unset, empty or
    /// `unnamed` makes them unnamed wherever the file system allows.
    public static let environmentVariable = "NPYEXP_TEMPORARIES"

    /// Why NPYEXP_TEMPORARIES cannot be honoured (an unknown value), or nil.
    public static let selectionProblem: String? = {
        switch requestedKind {
        case "", "named", "unnamed": nil
        default: "\(environmentVariable)=\(requestedKind) is not a kind of temporary file (named or unnamed)"
        }
    }()

    private static let requestedKind = getenv(environmentVariable).map { String(cString: $0) } ?? ""

    /// Whether temporaries are made unnamed where the file system allows: asked for (or not refused), and
    /// /proc/self/fd is there to link them by.
    public static let makesUnnamed: Bool = requestedKind != "named" && access("/proc/self/fd", X_OK) == 0

    /// Creates a new temporary beside `finalPath` (mode 0644): unnamed when `makesUnnamed` and the file system has
    /// O_TMPFILE (path nil); otherwise named, locked and registered. A name is registered and counted as a creation
    /// under way before the file is made, outside the lock; `removeAll()` waits for creations under way to end before
    /// it unlinks, so a signal arriving at any moment finds every named temporary that exists. Returns the path (nil
    /// when unnamed) and descriptor, or the errno (ECANCELED once `removeAll()` has run).
    static func create(beside finalPath: String) -> Result<(path: String?, fd: Int32), Errno> {
        if makesUnnamed {
            let fd = SystemCall.retrying { FileSystem.openUnnamed(inDirectory: PathTools.split(finalPath).0) }
            if fd >= 0 {
                if canLink(besideUnnamed: fd, finalPath) { return .success((nil, fd)) }
                close(fd)
            }
            // No O_TMPFILE here (EOPNOTSUPP, EISDIR), no way to link it, or a failure the named way below reports in
            // its own words.
        }
        while true {
            let path = name(for: finalPath)
            let admitted = state.withLock { s -> Bool in
                if s.closed { return false }
                s.paths.insert(path)
                s.underWay += 1
                return true
            }
            guard admitted else { return .failure(Errno(ECANCELED)) }
            let fd = SystemCall.retrying { FileSystem.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
            let code = fd >= 0 ? 0 : errno
            state.withLock { s in
                s.underWay -= 1
                // Not made (or another's file by that name): never to be unlinked as ours.
                if fd < 0 { s.paths.remove(path) }
            }
            state.broadcast()
            if fd < 0 {
                if code == EEXIST { continue }
                return .failure(Errno(code))
            }
            // Lock it. Another run's sweep may have opened it in the instant between creation and lock, found it
            // unlocked and taken it for a leftover: then the lock is held by that sweep (EWOULDBLOCK), or the file
            // is already unlinked. Either way this name is lost to the sweep: start over with a new one.
            let locked = SystemCall.retrying { flock(fd, LOCK_EX | LOCK_NB) }
            let lockError = locked == -1 ? errno : 0
            var st = stat()
            if lockError == EWOULDBLOCK || (fstat(fd, &st) == 0 && st.st_nlink == 0) {
                close(fd)
                unregister(path)
                continue
            }
            // Other lock errors: a file system without flock; the sweep falls back to the age rule there.
            return .success((Optional(path), fd))
        }
    }

    static func unregister(_ path: String) { state.withLock { _ = $0.paths.remove(path) } }

    /// Per file system (st_dev): whether an unnamed file made there could be linked to a name. An unnamed file that
    /// cannot be linked cannot be saved, so each file system is tried once, with a file of its own, before any
    /// output is written unnamed there (a sandbox whose /proc refuses the link, a file system that makes unnamed
    /// files but cannot link them).
    private static let linkable = Mutex<[UInt64: Bool]>([:])

    /// Whether unnamed files on `fd`'s file system can be linked into `finalPath`'s directory: known, or tried now
    /// with a second unnamed file linked to a registered temporary name and unlinked again.
    private static func canLink(besideUnnamed fd: Int32, _ finalPath: String) -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        let device = UInt64(st.st_dev)
        if let known = linkable.withLock({ $0[device] }) { return known }
        let probe = SystemCall.retrying { FileSystem.openUnnamed(inDirectory: PathTools.split(finalPath).0) }
        guard probe >= 0 else { return false }
        defer { close(probe) }
        let path = name(for: finalPath)
        let admitted = state.withLock { s -> Bool in
            if s.closed { return false }
            s.paths.insert(path)
            return true
        }
        guard admitted else { return false }
        let works = FileSystem.linkUnnamed(probe, to: path) == 0
        remove(path)
        linkable.withLock { $0[device] = works }
        return works
    }

    /// A temporary ready to be put in place: its name (nil when unnamed), its descriptor, and its final path.
    struct Placement {
        var temporary: String?
        var fd: Int32
        var final: String
    }

    /// Puts each temporary in place, in order (rename, or link when unnamed), as one step under way: a signal
    /// arriving meanwhile (`removeAll()`) waits until all are in place (or none). The step runs outside the registry's
    /// lock, so other jobs' creations do not wait on it. Several files (an output and its sidecar) are placed with
    /// their directory flocked (taken before the step counts as under way, so a signal never waits for it), so that
    /// two runs writing the same pair never interleave (one's output beside the other's sidecar). If one fails, each
    /// file already placed in this call is taken back out: the file it replaced (kept aside under a hidden name until
    /// the step ends) is put back, or, where there was none, the final is unlinked. An earlier file that cannot be
    /// kept aside is not replaced at all: the step fails before it. An output never stands without its sidecar, and a
    /// failed rerun leaves the earlier pair as it was. Named temporaries not placed stay registered for the caller to
    /// `remove`. Returns the index that failed, its errno, and the errno of putting an earlier file back when that
    /// failed too (the earlier output is then lost, and no output stands without its own sidecar); or nil.
    static func placeAll(_ files: [Placement]) -> (index: Int, errno: Int32, restoring: Int32?)? {
        let directoryLock = files.count > 1 ? lockDirectory(of: files[0].final) : -1
        defer { if directoryLock >= 0 { close(directoryLock) } }
        let admitted = state.withLock { s -> Bool in
            if s.closed { return false }
            s.underWay += 1
            return true
        }
        guard admitted else { return (0, ECANCELED, nil) }
        var failure: (Int, Int32, Int32?)?
        var asides: [Aside?] = []  // for each file placed: where the file it replaced is kept, if anywhere
        defer { for case let aside? in asides { aside.release() } }
        for (k, file) in files.enumerated() {
            // Only a file that a later one could fail after needs its predecessor kept.
            var aside: Aside?
            var code: Int32 = 0
            if k < files.count - 1 {
                switch keepAside(file.final) {
                case .nothing: break
                case .kept(let kept): aside = kept
                case .failed(let e): code = e
                }
            }
            if code == 0 {
                code =
                    if let temporary = file.temporary { FileSystem.rename(temporary, file.final) == -1 ? errno : 0 }
                    else { linkIntoPlace(file.fd, file.final) }
            }
            if code != 0 {
                var restoring: Int32?
                if let aside {
                    // Not replaced after all (a link aside), or moved aside (a rename): back to where it was.
                    if aside.moved { FileSystem.rename(aside.path, file.final) } else { FileSystem.unlink(aside.path) }
                    aside.release()
                }
                for (done, kept) in zip(files[..<k], asides).reversed() {
                    if let kept, FileSystem.rename(kept.path, done.final) == 0 { continue }
                    if kept != nil { restoring = errno }
                    // No earlier file, or it cannot be put back: never leave this output beside another's sidecar.
                    FileSystem.unlink(done.final)
                    if let kept { FileSystem.unlink(kept.path) }
                }
                failure = (k, code, restoring)
                break
            }
            asides.append(aside)
        }
        if failure == nil { for case let kept? in asides { FileSystem.unlink(kept.path) } }
        // Renamed temporaries leave the registry; any not renamed stay in it until the caller removes them.
        let placed = failure.map { files[..<$0.0] } ?? files[...]
        state.withLock { s in
            for file in placed { if let temporary = file.temporary { s.paths.remove(temporary) } }
            s.underWay -= 1
        }
        state.broadcast()
        return failure
    }

    /// An earlier file kept under a hidden name while its replacement's step runs, open (and flocked where it can
    /// be, so that another run's sweep never takes it for a leftover).
    struct Aside {
        var path: String
        var fd: Int32
        /// Moved there (renamed) rather than linked: the final name is empty until the step ends. -1 for fd: not
        /// opened (a symbolic link).
        var moved: Bool

        /// Closes the descriptor (and so drops the lock), if one was opened.
        func release() { if fd >= 0 { close(fd) } }
    }

    enum AsideOutcome {
        case nothing
        case kept(Aside)
        case failed(Int32)
    }

    /// Keeps whatever `final` names now under a second, hidden name (of the temporary form), so that it can be put
    /// back: nothing when nothing is there. The file is opened and flocked before the name exists, so no sweep can
    /// take it; then hard-linked, or where no link can be made (a file system without hard links, a full directory)
    /// renamed aside. When neither works, the step must not replace it. Called within a step under way, which ends
    /// by renaming or unlinking the name: a signal's `removeAll` waits for the step, and only SIGKILL can leave it (a
    /// later run's sweep removes it).
    private static func keepAside(_ final: String) -> AsideOutcome {
        // Only an earlier file or symbolic link is kept: anything else there (a directory the placement fails on, a
        // FIFO it replaces) is left where it is.
        var st = stat()
        guard FileSystem.lstat(final, &st) == 0 else { return .nothing }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFLNK else { return .nothing }
        let fd = kind == S_IFREG ? FileSystem.open(final, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1
        // Held elsewhere (another run's staged file): that holder keeps sweeps off. A link is kept unlocked.
        if fd >= 0 { _ = flock(fd, LOCK_EX | LOCK_NB) }
        var linkError: Int32 = 0
        while true {
            let path = name(for: final)
            if FileSystem.link(final, path) == 0 { return .kept(Aside(path: path, fd: fd, moved: false)) }
            linkError = errno
            if linkError == EEXIST { continue }
            if linkError == ENOENT {
                if fd >= 0 { close(fd) }
                return .nothing
            }
            if FileSystem.rename(final, path) == 0 { return .kept(Aside(path: path, fd: fd, moved: true)) }
            if errno == EEXIST { continue }
            if fd >= 0 { close(fd) }
            return .failed(linkError)
        }
    }

    /// The directory of `path`, open and flocked (exclusive), or -1 where it cannot be (a file system without flock:
    /// the pair is then placed unlocked). Runs hold it only while they place a pair, so it is waited for by polling,
    /// and for at most `directoryLockPatience` seconds: someone else's long hold (`flock DIR npyexp -o DIR ...`, whose
    /// lock is on another open file and would otherwise deadlock the run) costs that wait, then the pair is placed
    /// unlocked, as before the lock existed.
    private static func lockDirectory(of path: String) -> Int32 {
        let dir = PathTools.split(path).0
        let fd = FileSystem.open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return -1 }
        var pause = 0.0001
        var waited = 0.0
        while true {
            if SystemCall.retrying({ flock(fd, LOCK_EX | LOCK_NB) }) == 0 { return fd }
            let busy = errno == EWOULDBLOCK
            if !busy || waited >= directoryLockPatience || unlockable.withLock({ $0.contains(dir) }) {
                // A directory given up on is not waited for again in this run (each pair would wait as long).
                if busy { _ = unlockable.withLock { $0.insert(dir) } }
                close(fd)
                return -1
            }
            var nap = timespec(tv_sec: 0, tv_nsec: Int(pause * 1e9))
            nanosleep(&nap, nil)
            waited += pause
            pause = min(pause * 2, 0.02)
        }
    }

    /// How long a pair waits for its directory's lock before it is placed unlocked.
    static let directoryLockPatience = 5.0
    /// Directories whose lock was held elsewhere for longer than that.
    private static let unlockable = Mutex<Set<String>>([])

    /// Links the unnamed file open as `fd` to `final`; 0 or the errno. Called within a step under way. When the name
    /// is taken (an earlier output, say), it is replaced atomically, as rename(2) replaces: the file is locked,
    /// linked to a registered temporary name and renamed over it (a signal's `removeAll` waits for this step, then
    /// finds that name if it is still there).
    private static func linkIntoPlace(_ fd: Int32, _ final: String) -> Int32 {
        if FileSystem.linkUnnamed(fd, to: final) == 0 { return 0 }
        guard errno == EEXIST else { return errno }
        // Locked before it has a name: another run's sweep never takes it for a leftover.
        _ = flock(fd, LOCK_EX | LOCK_NB)
        while true {
            let path = name(for: final)
            state.withLock { _ = $0.paths.insert(path) }
            if FileSystem.linkUnnamed(fd, to: path) == -1 {
                let code = errno
                unregister(path)
                if code == EEXIST { continue }
                return code
            }
            if FileSystem.rename(path, final) == 0 {
                unregister(path)
                return 0
            }
            let code = errno
            remove(path)
            return code
        }
    }

    /// Unlinks `path` if it is still registered (not yet renamed into place).
    static func remove(_ path: String) {
        state.withLock { s in
            if s.paths.remove(path) != nil { FileSystem.unlink(path) }
        }
    }

    /// Removes every named temporary file of this process and refuses new ones (unnamed ones end with the process).
    /// Called by the CLI's signal thread (a normal thread, so locks and allocation are safe there) right before it
    /// exits with 128+N.
    public static func removeAll() {
        state.withLock { $0.closed = true }
        // Steps under way end in moments (one open, or a pair of renames); then every registered path is a
        // temporary file of ours.
        state.wait(until: { $0.underWay == 0 }) { s in
            for path in s.paths { FileSystem.unlink(path) }
            s.paths.removeAll()
        }
    }

    /// The marker every temporary name carries, so that leftovers of a killed run can be recognised.
    public static let marker = ".npyexp-tmp."

    /// Where locks are not available: a leftover whose writer PID is gone is removed once it has not been written for
    /// this long (the delay covers writers in another PID namespace whose PIDs look dead from here).
    public static let staleAfterDeadWriter: Int = 60
    /// Where locks are not available: any leftover untouched this long is removed.
    public static let staleAfterAnyWriter: Int = 24 * 3600

    /// A hidden temporary name in `finalPath`'s directory: `.npyexp-tmp.PID.HEX`, at most 40 bytes.
    static func name(for finalPath: String) -> String {
        let (dir, _) = PathTools.split(finalPath)
        let hex = String(nameSequence.withLock { $0 &+= 0x9E37_79B9_7F4A_7C15; return $0 }, radix: 16)
        return PathTools.join(dir, "\(marker)\(processID).\(hex)")
    }

    /// Where the HEX of temporary names comes from: a random start once per process, then a fixed odd step (every
    /// value once in 2^64 steps; no getrandom(2) per file; a name already taken is skipped by O_EXCL anyway).
    private static let nameSequence = Mutex(UInt64.random(in: 0...UInt64.max))

    /// The writer's PID when `name` is exactly a temporary name npyexp makes: `.npyexp-tmp.PID.HEX`, or the form
    /// earlier versions made, `.NAME.npyexp-tmp.PID.HEX`.
    public static func writerPID(ofTemporaryName name: String) -> Int32? {
        let bytes = Array(name.utf8)
        let mark = Array(marker.utf8)
        guard bytes.first == UInt8(ascii: "."), bytes.count > mark.count + 2 else { return nil }
        // The last occurrence of the marker: NAME itself may contain it.
        guard
            let at = stride(from: bytes.count - mark.count, through: 0, by: -1).first(where: {
                bytes[$0..<$0 + mark.count].elementsEqual(mark)
            }), at == 0 || at >= 2
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
    /// exactly npyexp's temporary names are touched, and only when no writer holds them: their lock can be taken
    /// (or, where locks are not available, by the age rule). Returns the names removed.
    @discardableResult
    public static func removeStale(in directory: String) -> [String] {
        let dir = directory.isEmpty ? "." : directory
        let first = swept.withLock { $0.insert(dir).inserted }
        guard first, let d = FileSystem.opendir(dir) else { return [] }
        defer { closedir(d) }
        var removed: [String] = []
        while let e = readdir(d) {
            let name = FileSystem.name(of: e)
            guard let pid = writerPID(ofTemporaryName: name), pid != processID else { continue }
            let full = PathTools.join(dir, name)
            if removeIfAbandoned(full, writer: pid) { removed.append(name) }
        }
        return removed
    }

    /// Inputs of this run whose names have the temporary form: the sweep leaves them alone (inputs are never
    /// touched, whatever their names).
    private static let protected = Mutex<Set<FileIdentity>>([])

    /// Keeps the sweep away from the file `identity` (an input named like a temporary).
    static func protect(_ identity: FileIdentity) {
        _ = protected.withLock { $0.insert(identity) }
    }

    /// Removes one leftover when its writer is provably gone.
    static func removeIfAbandoned(_ path: String, writer pid: Int32) -> Bool {
        let fd = FileSystem.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
            !protected.withLock({ $0.contains(FileIdentity(st)) })
        else { return false }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            // Nobody holds it: its writer is gone. (A writer re-checks its file right after locking it.)
            return FileSystem.unlink(path) == 0
        }
        let code = errno
        if code == EWOULDBLOCK { return false }  // a live writer
        // No locks on this file system: fall back to the age rule.
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let idle = Int(now.tv_sec) - Int(st.st_mtim.tv_sec)
        let writerGone = kill(pid, 0) == -1 && errno == ESRCH
        if (writerGone && idle >= staleAfterDeadWriter) || idle >= staleAfterAnyWriter {
            return FileSystem.unlink(path) == 0
        }
        return false
    }
}

/// An errno value, kept as a number until a message is made from it.
struct Errno: Error, Equatable, Sendable {
    var code: Int32
    init(_ code: Int32) { self.code = code }
    var text: String { SystemCall.errnoText(code) }
}

// OutputFile: the one way anything is written. Every byte of an output goes to a temporary file in the output's
// directory (unnamed where the file system allows, else hidden and locked: see TemporaryFiles) through a running
// SHA-256; the `.sha256` sidecar (coreutils line plus the provenance comment) goes to a second temporary; only then
// are both put in place (linked, or renamed), output first, sidecar last, so a sidecar in place always describes a
// complete output. An output is never left in place without its sidecar by a failure between the two (the output is
// removed again). `commit(durable:)` is PostgreSQL's durable_rename for one output (fsync, put in place, fsync the
// directory); `stage()` hands both temporaries, still open, to a `CommitGroup` that makes a whole batch durable with
// two syncfs calls. Standard output is an OutputFile too (no temporary, no sidecar), so the job writes through one
// type. A large output's batches are hashed and written on a thread of its own (`writeBehind`, see WriteBehind),
// which every step that ends the output waits for first.
// Relies on Glibc, Crypto (SHA-256), CSystem (writeback), TemporaryFiles.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSystem
import Crypto

/// A temporary file that becomes `finalPath` (linked or renamed there), or disappears.
final class TemporaryFile {
    let finalPath: String
    /// The temporary's name; nil when it has none (O_TMPFILE).
    let path: String?
    private(set) var fd: Int32
    private var done = false

    /// Creates the temporary beside `finalPath` (its directory must exist), sweeping that directory's leftovers first.
    init(finalPath: String) throws(NPYExpError) {
        self.finalPath = finalPath
        TemporaryFiles.removeStale(in: PathTools.split(finalPath).0)
        switch TemporaryFiles.create(beside: finalPath) {
        case .success(let made):
            path = made.path
            fd = made.fd
        case .failure(let e):
            let fault = NPYExpError.Fault.system(errno: e.code)
            switch e.code {
            case EACCES, EPERM, EROFS:
                throw NPYExpError(
                    path: finalPath, "output directory not writable: \(e.text)", category: .output, fault: fault)
            case ECANCELED:
                throw NPYExpError(path: finalPath, "interrupted: exiting on a signal", category: .output, fault: fault)
            default:
                throw NPYExpError(path: finalPath, "cannot create output: \(e.text)", category: .output, fault: fault)
            }
        }
    }

    deinit { discard() }

    func write(_ bytes: UnsafeRawBufferPointer) throws(NPYExpError) {
        try FileDescriptorWriter.writeAll(fd: fd, bytes, path: finalPath)
    }

    /// Writes the UTF-8 bytes of `text`.
    func write(text: String) throws(NPYExpError) {
        let failure: NPYExpError? = FileSystem.bytes(of: text).withUnsafeBytes { b in
            do throws(NPYExpError) {
                try write(b)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Asks the kernel to start writing the file back (advisory; see `OutputFile.startWriteback`).
    func startWriteback() {
        _ = npyexp_start_writeback(fd, 0, 0)
    }

    func sync() throws(NPYExpError) {
        try SystemCall.check(fsync(fd), "fsync failed", path: finalPath, category: .output)
    }

    /// After an unnamed temporary is linked into place (durable commits): its link count lives in its inode, which
    /// an fsync of the directory does not write on every file system (ext4 without a journal), so fsync it again.
    /// Cheap: its data is already on disk. Nothing to do for a renamed one.
    func syncName() throws(NPYExpError) {
        if path == nil { try sync() }
    }

    /// Puts the temporary in place. The descriptor (and so any lock) stays open until `close()`.
    func place() throws(NPYExpError) {
        try TemporaryFile.placeTogether([self])
    }

    /// Puts temporaries in place in order (linked, or renamed), as one step: a signal cannot split it (the signal
    /// thread's removal of temporaries waits for it), and if one fails, those already placed are taken back out of
    /// place (the files they replaced put back) and every temporary of the step is removed. The descriptors stay
    /// open until `close()`.
    static func placeTogether(_ files: [TemporaryFile]) throws(NPYExpError) {
        let failure = TemporaryFiles.placeAll(files.map { .init(temporary: $0.path, fd: $0.fd, final: $0.finalPath) })
        for file in files { file.done = true }
        if let (index, code, restoring) = failure {
            for file in files[index...] { if let path = file.path { TemporaryFiles.remove(path) } }
            let finalPath = files[index].finalPath
            let lost = restoring.map { "; the earlier \(files[0].finalPath) could not be put back (\(SystemCall.errnoText($0)))" }
            throw NPYExpError(
                path: finalPath, "cannot move into place: \(SystemCall.errnoText(code))" + (lost ?? ""),
                category: .output, fault: .system(errno: code))
        }
    }

    /// Closes the descriptor, releasing the lock (after `place()`, or to give up).
    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Removes the temporary (if not yet placed) and closes it; the final path is left untouched. An unnamed one
    /// goes with its descriptor.
    func discard() {
        if !done, let path { TemporaryFiles.remove(path) }
        done = true
        close()
    }
}

/// One output and its sidecar, written atomically, with the SHA-256 of every byte computed while writing.
final class OutputFile {
    /// The output's final path; nil for standard output.
    let finalPath: String?
    private let data: TemporaryFile?
    private var sidecar: TemporaryFile?
    private var hasher = SHA256()
    private var finalDigest: String?
    /// Set once `stage()` has handed the temporaries to a commit group: they are no longer this object's to remove.
    private var handedOver = false
    /// Bytes written so far.
    private(set) var byteCount = 0
    /// The writer thread, once a payload hands batches over (`writeBehind`).
    private var behind: WriteBehind?
    /// Where the next `startWriteback` range begins.
    private var writebackStart = 0

    /// An output file at `finalPath`, its directories created as needed.
    init(finalPath: String) throws(NPYExpError) {
        try PathTools.makeDirectories(PathTools.split(finalPath).0)
        self.finalPath = finalPath
        data = try TemporaryFile(finalPath: finalPath)
    }

    /// Standard output: written as it comes, no temporary and no sidecar.
    init(standardOutput: ()) {
        finalPath = nil
        data = nil
    }

    deinit { abandon() }

    /// Writes `bytes` now, after whatever was handed to `writeBehind`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(NPYExpError) {
        try finishWrites()
        try writeNow(bytes)
    }

    /// Hands `pieces` to a writer thread of this output's own, to be written in order after everything before;
    /// returns once the pieces handed over before are written, so their buffers may be reused. The caller keeps
    /// these pieces' bytes untouched until the next `writeBehind` or `finishWrites`.
    func writeBehind(_ pieces: [UnsafeRawBufferPointer]) throws(NPYExpError) {
        if behind == nil { behind = WriteBehind() }
        try behind!.handOver(pieces, to: self)
    }

    /// Whether writes have been handed to a writer thread (a large output).
    var writesBehind: Bool { behind != nil }

    /// Waits until everything handed to `writeBehind` is written; throws the first failure of those writes.
    func finishWrites() throws(NPYExpError) {
        try behind?.wait()
    }

    /// Waits for the writer thread (if any) to finish what it holds and ends it. A failure `finishWrites` has not
    /// thrown yet is dropped: where the outcome matters (a payload's `finish`, `commit`) `finishWrites` comes first.
    /// Anything that frees buffers handed to `writeBehind`, or ends this output, calls it first.
    func stopWriteBehind() {
        behind?.stop()
        behind = nil
    }

    /// Hashes and writes `bytes` on the calling thread (the writer thread, or `write`).
    func writeNow(_ bytes: UnsafeRawBufferPointer) throws(NPYExpError) {
        hasher.update(bufferPointer: bytes)
        byteCount += bytes.count
        if let data {
            try data.write(bytes)
        } else {
            try FileDescriptorWriter.writeAll(fd: 1, bytes, path: "<stdout>")
        }
    }

    /// Asks the kernel to start writing back what was written since the last call, once that is at least 8 MiB
    /// (advisory: failures are ignored; the commit's fsync is what makes the output durable).
    func startWriteback() {
        guard let data, byteCount - writebackStart >= 8 << 20 else { return }
        _ = npyexp_start_writeback(data.fd, Int64(writebackStart), Int64(byteCount - writebackStart))
        writebackStart = byteCount
    }

    /// Lower-case hex SHA-256 of everything written (the output is complete once this is asked for).
    var digest: String {
        stopWriteBehind()
        if let finalDigest { return finalDigest }
        let d = Checksums.hex(hasher.finalize())
        finalDigest = d
        return d
    }

    /// Writes the sidecar's temporary: the coreutils line for the output and, when known, where it came from.
    func writeSidecar(provenance: Provenance?) throws(NPYExpError) {
        guard let finalPath else { return }
        let file = try TemporaryFile(finalPath: Checksums.sidecarPath(for: finalPath))
        sidecar = file
        let text = Checksums.line(digest: digest, name: PathTools.split(finalPath).1) + (provenance?.line ?? "")
        try file.write(text: text)
    }

    /// Makes the output and its sidecar durable (when `durable`) and visible: fsync both, put the output in place, then
    /// the sidecar, then fsync the directory.
    func commit(durable: Bool) throws(NPYExpError) {
        guard let data else { return }
        do throws(NPYExpError) {
            try finishWrites()
            stopWriteBehind()
            if durable {
                try data.sync()
                try sidecar?.sync()
            }
            try placeBoth()
            if durable, let finalPath {
                try data.syncName()
                try sidecar?.syncName()
                try PathTools.syncDirectory(PathTools.split(finalPath).0)
            }
            data.close()
            sidecar?.close()
        } catch {
            abandon()
            throw error
        }
    }

    /// Hands the written output and sidecar, still locked and unsynced, to a commit group.
    func stage() -> StagedOutput? {
        stopWriteBehind()
        guard let data else { return nil }
        // The group's syncfs comes later, for many files at once. A large output's writeback starts now, beside the
        // next jobs; small ones are left to the syncfs, which writes them back together: starting each one's alone
        // cost more than it saved (2000 small files, interleaved medians of 9, twice: 0.80 -> 0.60 s, 1.02 -> 0.78 s).
        if byteCount >= 1 << 20 { data.startWriteback() }
        handedOver = true
        return StagedOutput(data: data, sidecar: sidecar)
    }

    /// Removes whatever temporaries are left; final paths are left untouched.
    func abandon() {
        stopWriteBehind()
        guard !handedOver else { return }
        data?.discard()
        sidecar?.discard()
    }

    fileprivate func placeBoth() throws(NPYExpError) {
        try StagedOutput(data: data!, sidecar: sidecar).placeBoth()
    }
}

/// An output and its sidecar, fully written to their temporaries, waiting for the group's renames or links.
struct StagedOutput {
    fileprivate let data: TemporaryFile
    fileprivate let sidecar: TemporaryFile?

    /// The directory whose entries the renames change.
    var directory: String { PathTools.split(data.finalPath).0 }

    /// The output temporary's descriptor, open until `close()`: a handle on its file system for syncfs.
    var descriptor: Int32 { data.fd }

    /// Output first, sidecar last. If the sidecar cannot follow, the output is taken back out of place: an output
    /// never stands without its sidecar because of a failure between the two.
    func placeBoth() throws(NPYExpError) {
        try TemporaryFile.placeTogether([data] + (sidecar.map { [$0] } ?? []))
    }

    /// Removes both temporaries (a failed group).
    func discard() {
        data.discard()
        sidecar?.discard()
    }

    /// Releases the descriptors and locks once the renames are durable.
    func close() {
        data.close()
        sidecar?.close()
    }
}

/// Writes whole buffers, retrying short writes; errors name `path` (ENOSPC, EDQUOT, EFBIG, EPIPE, EIO...).
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

/// Small text files (manifests, sums files) written like the outputs: temporary file, fsync, put in place, directory
/// fsync.
public enum AtomicText {
    /// Writes `text` to `path` atomically (and durably when `durable`).
    public static func write(_ text: String, to path: String, durable: Bool = true) throws(NPYExpError) {
        try PathTools.makeDirectories(PathTools.split(path).0)
        let file = try TemporaryFile(finalPath: path)
        try file.write(text: text)
        if durable { try file.sync() }
        try file.place()
        defer { file.close() }
        if durable {
            try file.syncName()
            try PathTools.syncDirectory(PathTools.split(path).0)
        }
    }
}

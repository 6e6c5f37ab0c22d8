// CommitGroup: durability for many outputs at the price of a few syncs. Outputs and sidecars of a batch are written to
// their temporaries unsynced and staged here, still open; one syncfs(2) per file system makes all their data durable,
// the renames (or links, see TemporaryFiles) follow, and a second syncfs makes them durable. An output path therefore
// never shows data that is not on disk, as with the per-file fsync + rename + directory fsync, but a batch of thousands
// of small files costs two syncs instead of three fsyncs each (design notes: fsync ~0.6 ms per file, one syncfs after
// many writes ~16 ms); batches hold up to 256 inputs (fewer when the descriptor limit is low), and staged outputs of 1
// MiB or more have started their writeback already (small ones are written back together by the first syncfs). A failed
// sync is never retried as if the data were safe: the whole group fails. Relies on Glibc (rename), CSystem (syncfs) and
// Synchronization.Mutex.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSystem
import Synchronization

/// Collects staged outputs and commits them in batches (at most `batchFiles` inputs stay open meanwhile).
final class CommitGroup: Sendable {
    /// One staged output with its report and the input it came from, kept open (and so flocked) until the output is
    /// renamed, so an overlapping run waits for the output instead of redoing it.
    struct Entry: @unchecked Sendable {
        // Handed over whole by the job that made it; from then on only the group touches the objects inside.
        var staged: StagedOutput
        var report: FileReport
        var input: AnyObject
    }

    /// The syncfs(2) call, replaceable by tests to inject failures.
    typealias SyncCall = @Sendable (_ directoryDescriptor: Int32) -> Int32

    private let pending = Mutex<[Entry]>([])
    /// Serialises flushes so that reports come out in commit order.
    private let flushing = Mutex<Void>(())
    private let syncCall: SyncCall
    let batchFiles: Int

    init(batchFiles: Int = CommitGroup.defaultBatchFiles, sync: @escaping SyncCall = { npyexp_syncfs($0) }) {
        self.batchFiles = batchFiles
        self.syncCall = sync
    }

    /// Inputs per batch: as many as the descriptor limit allows with room to spare (each staged input holds three
    /// descriptors: the input, the output's and the sidecar's temporaries; the jobs in flight hold a few more), at
    /// least 16 and at most 256. Each batch costs two syncfs(2). (Batches of 256 were measured while staged files
    /// all started their writeback when staged; now only outputs of 1 MiB or more do, see `OutputFile.stage`.) The
    /// last batch is committed after every job has ended, on one core: 2000 small files took
    /// 0.59 s in batches of 256 against 0.63 s in batches of 1024 (medians of 11, interleaved; 128 and 64 no better).
    static let defaultBatchFiles: Int = {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 128 }
        let soft = Int(clamping: limit.rlim_cur)  // RLIM_INFINITY is the largest value: clamped, then capped below
        return min(256, max(16, (soft - 64) / 4))
    }()

    /// Adds a staged output; flushes when the batch is full. Returns the reports that are now final.
    func add(_ entry: Entry) -> [FileReport] {
        let full = pending.withLock { list -> Bool in
            list.append(entry)
            return list.count >= batchFiles
        }
        return full ? flush() : []
    }

    /// Makes every pending output durable and visible; returns their final reports.
    func flush() -> [FileReport] {
        flushing.withLock { _ in
            let entries = pending.withLock { list -> [Entry] in
                let all = list
                list.removeAll()
                return all
            }
            guard !entries.isEmpty else { return [] }
            defer { entries.forEach { $0.staged.close() } }  // locks held until the end, inputs with `entries`
            var reports = entries.map(\.report)
            let directories = Set(entries.map(\.staged.directory))
            if let error = syncFileSystems(of: directories) {
                for (i, entry) in entries.enumerated() {
                    entry.staged.discard()
                    reports[i].status = .failed(error.renamed(reports[i].outputPath))
                }
                return reports
            }
            for (i, entry) in entries.enumerated() {
                do throws(NPYExpError) {
                    try entry.staged.placeBoth()
                } catch {
                    entry.staged.discard()
                    reports[i].status = .failed(error)
                }
            }
            if let error = syncFileSystems(of: directories) {
                for i in reports.indices where reports[i].error == nil {
                    reports[i].status = .failed(error.renamed(reports[i].outputPath))
                }
            }
            return reports
        }
    }

    /// One syncfs per file system holding any of `directories`.
    private func syncFileSystems(of directories: Set<String>) -> NPYExpError? {
        var done: Set<UInt> = []
        for dir in directories.sorted() {
            let fd = FileSystem.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd == -1 {
                return NPYExpError(path: dir, "cannot open directory: \(SystemCall.errnoText(errno))", category: .output)
            }
            defer { close(fd) }
            var st = stat()
            fstat(fd, &st)
            if done.contains(UInt(st.st_dev)) { continue }
            done.insert(UInt(st.st_dev))
            if syncCall(fd) == -1 {
                return NPYExpError(path: dir, "syncfs failed: \(SystemCall.errnoText(errno))", category: .output)
            }
        }
        return nil
    }
}

extension NPYExpError {
    /// The same fault, reported for another path (a group's failure, told for each of its outputs).
    func renamed(_ other: String?) -> NPYExpError {
        guard let other else { return self }
        return NPYExpError(path: other, message, category: category)
    }
}

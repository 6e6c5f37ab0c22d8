// CommitGroup: durability for many outputs at the price of a few syncs. Outputs and sidecars of a batch are written to
// their temporaries unsynced and staged here, still open; one syncfs(2) per file system makes all their data durable,
// the renames (or links, see TemporaryFiles) follow, and a second syncfs makes them durable. An output path therefore
// never shows data that is not on disk, as with the per-file fsync + rename + directory fsync, but a batch of thousands
// of small files costs two syncs instead of three fsyncs each (design notes: fsync ~0.6 ms per file, one syncfs after
// many writes ~16 ms); batches hold up to 256 inputs (fewer when the descriptor limit is low: at most two batches are
// open at once, so a slow sync never makes npyexp run out of descriptors), and staged outputs of 1 MiB or more have
// started their writeback already (small ones are written back together by the first syncfs). A failed sync is never
// retried as if the data were safe: the whole group fails. Relies on Glibc, CSystem (syncfs) and Synchronization.Mutex.
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

    /// The syncfs(2) call, replaceable by tests to inject failures; given a descriptor on the file system to sync.
    typealias SyncCall = @Sendable (_ descriptor: Int32) -> Int32

    private let pending = Mutex<[Entry]>([])
    /// Serialises flushes so that reports come out in commit order.
    private let flushing = Mutex<Void>(())
    private let syncCall: SyncCall
    let batchFiles: Int

    init(batchFiles: Int = CommitGroup.batchFiles(workers: 2), sync: @escaping SyncCall = { npyexp_syncfs($0) }) {
        self.batchFiles = batchFiles
        self.syncCall = sync
    }

    /// Inputs per batch for `workers` jobs at once: as many as the descriptor limit allows, at most 256. At most two
    /// batches are open at any time (one flushing, one filling: `add` waits rather than start a third), each staged
    /// input holds three descriptors (the input, the output's and the sidecar's temporaries), and each job in
    /// flight holds up to 16 more (its input, temporaries, a reader's and a writer's threads' handles), besides 32
    /// for the process itself. So however slow a syncfs is, npyexp never runs out of descriptors of its own making:
    /// with 1024 and two jobs a batch holds 160 inputs; with a very low limit, 1 (then it commits file by file).
    /// Each batch costs two syncfs(2). 2000 small files took 0.59 s in batches of 256 against 0.63 s in batches of
    /// 1024 (medians of 11, interleaved; 128 and 64 no better).
    static func batchFiles(workers: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 64 }
        let soft = Int(clamping: limit.rlim_cur)  // RLIM_INFINITY is the largest value: clamped, then capped below
        let spare = soft - 32 - 16 * max(1, workers)
        return min(256, max(1, spare / 6))
    }

    /// Adds a staged output; flushes when the batch is full. Returns the reports that are now final. When the batch
    /// is full already (its flush waits for the one under way), this job flushes it first: no third batch opens.
    func add(_ entry: Entry) -> [FileReport] {
        var reports: [FileReport] = []
        while true {
            let full = pending.withLock { list -> Bool? in
                guard list.count < batchFiles else { return nil }
                list.append(entry)
                return list.count >= batchFiles
            }
            if let full { return reports + (full ? flush() : []) }
            reports += flush()
        }
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
            if let error = syncFileSystems(of: entries) {
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
            // The placed ones only: a failed entry's temporaries are discarded, their descriptors closed.
            if let error = syncFileSystems(of: entries.indices.filter { reports[$0].error == nil }.map { entries[$0] }) {
                for i in reports.indices where reports[i].error == nil {
                    reports[i].status = .failed(error.renamed(reports[i].outputPath))
                }
            }
            return reports
        }
    }

    /// One syncfs per file system holding any of the entries, through the entries' own open temporaries (no
    /// descriptor is opened for it, so a flush cannot fail for want of one).
    private func syncFileSystems(of entries: [Entry]) -> NPYExpError? {
        var done: Set<UInt> = []
        for entry in entries {
            let fd = entry.staged.descriptor
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                return NPYExpError(
                    path: entry.staged.directory, "cannot stat: \(SystemCall.errnoText(errno))", category: .output)
            }
            if !done.insert(UInt(st.st_dev)).inserted { continue }
            if syncCall(fd) == -1 {
                return NPYExpError(
                    path: entry.staged.directory, "syncfs failed: \(SystemCall.errnoText(errno))", category: .output)
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

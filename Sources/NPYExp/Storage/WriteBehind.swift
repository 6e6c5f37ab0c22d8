// WriteBehind: an output's writes (its SHA-256 and the write calls) on a thread of their own, so the job deflates
// the next batch while the one before is hashed and written. One batch is in flight at a time: handing over the
// next waits for the last, so its owner may reuse a batch's buffers once the batch after it has been handed over,
// and must call `wait` before freeing them. After each batch it asks the kernel to start writing back what has
// been written (sync_file_range), so the commit's fsync finds little left to do. The first failure sticks: later
// batches are dropped and every later `handOver` or `wait` throws it. The thread holds the output only while it
// writes a batch (no reference cycle with the output that owns it). Relies on Concurrency (ConditionLock,
// WorkerThread), OutputFile (the writes themselves).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A writer thread for one `OutputFile`.
final class WriteBehind: @unchecked Sendable {
    private let lock = ConditionLock()
    /// The batch in flight and the output it goes to, held (strongly) only while it is written: the output is
    /// touched by this thread only then, and by its owner only after `wait`.
    private var pending: (file: OutputFile, pieces: [UnsafeRawBufferPointer])?
    private var failure: NPYExpError?
    private var stopping = false
    private var thread: WorkerThread?
    /// No thread could be made (WorkerThread then runs its body inline): batches are written by `handOver` itself.
    private var inline = false

    init() {
        let creator = pthread_self()
        thread = WorkerThread { [self] in
            if pthread_equal(pthread_self(), creator) != 0 {
                inline = true
                return
            }
            while let batch = lock.wait(until: { pending != nil || stopping }, then: { pending }) {
                let failed = write(batch.pieces, to: batch.file)
                lock.withLock {
                    if failure == nil { failure = failed }
                    pending = nil
                }
                lock.broadcast()
            }
        }
    }

    /// Waits for the batch in flight, then hands `pieces` over to be written to `file` in order; throws the first
    /// failure.
    func handOver(_ pieces: [UnsafeRawBufferPointer], to file: OutputFile) throws(NPYExpError) {
        try wait()
        if inline {
            if let failed = write(pieces, to: file) { throw failed }
            return
        }
        lock.withLock { pending = (file, pieces) }
        lock.broadcast()
    }

    /// Waits until every batch handed over is written (or dropped); throws the first failure.
    func wait() throws(NPYExpError) {
        if let failed = lock.wait(until: { pending == nil }, then: { failure }) { throw failed }
    }

    /// Waits for the batch in flight, then ends the thread.
    func stop() {
        lock.wait(until: { pending == nil }, then: {})
        lock.withLock { stopping = true }
        lock.broadcast()
        thread?.join()
        thread = nil
    }

    /// Writes one batch (unless an earlier one failed) and starts its writeback; the failure, if any.
    private func write(_ pieces: [UnsafeRawBufferPointer], to file: OutputFile) -> NPYExpError? {
        if lock.withLock({ failure != nil }) { return nil }
        do throws(NPYExpError) {
            for piece in pieces { try file.writeNow(piece) }
        } catch {
            return error
        }
        file.startWriteback()
        return nil
    }
}

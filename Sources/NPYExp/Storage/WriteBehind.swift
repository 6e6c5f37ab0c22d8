// WriteBehind: an output's writes (its SHA-256 and the write calls) on a thread of their own, so the job deflates
// the next batch while the one before is hashed and written. One batch is in flight at a time: handing over the
// next waits for the last, so its owner may reuse a batch's buffers once the batch after it has been handed over,
// and must call `wait` before freeing them. After each batch it asks the kernel to start writing back what has
// been written (sync_file_range), so the commit's fsync finds little left to do. The first failure sticks: later
// batches are dropped and every later `handOver` or `wait` throws it. The thread holds the output only while it
// writes a batch (no reference cycle with the output that owns it). Relies on Concurrency (HandOffThread),
// OutputFile (the writes themselves).

/// A writer thread for one `OutputFile`.
final class WriteBehind: @unchecked Sendable {
    /// The first failure, shared with the worker: written by it while a batch is out, read by the owner after `wait`.
    private final class Outcome {
        var failure: NPYExpError?
    }
    private let outcome = Outcome()
    private let worker: HandOffThread<(file: OutputFile, pieces: [UnsafeRawBufferPointer])>

    init() {
        let outcome = outcome
        worker = HandOffThread { batch in
            if outcome.failure == nil { outcome.failure = WriteBehind.write(batch.pieces, to: batch.file) }
        }
    }

    /// Waits for the batch in flight, then hands `pieces` over to be written to `file` in order; throws the first
    /// failure.
    func handOver(_ pieces: [UnsafeRawBufferPointer], to file: OutputFile) throws(NPYExpError) {
        try wait()
        worker.handOver((file, pieces))
    }

    /// Waits until every batch handed over is written (or dropped); throws the first failure.
    func wait() throws(NPYExpError) {
        worker.wait()
        if let failure = outcome.failure { throw failure }
    }

    /// Waits for the batch in flight, then ends the thread.
    func stop() { worker.stop() }

    /// Writes one batch and starts its writeback; the failure, if any.
    private static func write(_ pieces: [UnsafeRawBufferPointer], to file: OutputFile) -> NPYExpError? {
        do throws(NPYExpError) {
            for piece in pieces { try file.writeNow(piece) }
        } catch {
            return error
        }
        file.startWriteback()
        return nil
    }
}

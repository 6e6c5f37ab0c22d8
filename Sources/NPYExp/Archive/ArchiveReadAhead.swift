// Archive: a large archive's members read ahead on a thread of its own, so that inflating the next piece of a member
// overlaps exp and deflate of the current one, as the read-ahead thread does for a large .npy.gz (Job/Handoff). The
// thread runs an ArchiveReader (every check of the in-line reader, in the same words) and hands the members' bytes
// through one ChunkPipe, each member a segment whose last chunk is marked; each member's local header reaches the
// job through a list the thread fills before that member's first byte. Relies on ArchiveReader and Handoff.
import Synchronization

/// Where an archive job's members come from: an `ArchiveReader` in line, or `ArchiveReadAhead`.
protocol MemberSource: AnyObject {
    /// The next member's local header; nil after the last.
    func nextMember() throws -> ZipEntry?
    /// The current member's uncompressed bytes, in order, to `consumer`.
    func readMember(_ consumer: (UnsafeRawBufferPointer) throws -> Void) throws
    /// After the last member: the central directory and the file checked.
    func finish() throws
}

extension ArchiveReader: MemberSource {}

/// Local headers in order, appended by a reading thread before each member's bytes, read by the job's thread (an
/// archive read ahead, or a backward job's result archive).
final class EntryList: Sendable {
    let entries = Mutex<[ZipEntry]>([])
}

/// An archive read on a thread of its own, member by member, `depth` chunks ahead of the job.
final class ArchiveReadAhead: MemberSource {
    private let pipe: ChunkPipe
    private let producer: WorkerThread
    private let list = EntryList()
    private var taken = 0
    /// The first chunk of the member `nextMember` returned, not yet handed on.
    private var first: (slot: Int, bytes: UnsafeRawBufferPointer, endsSegment: Bool)?

    /// Starts reading the archive `file`, whose first bytes `prefix` were read already.
    init(file: InputFile, prefix: UnsafeRawBufferPointer, depth: Int, chunkBytes: Int) {
        pipe = ChunkPipe(depth: depth, chunkBytes: chunkBytes)
        let list = self.list
        let box = UncheckedBox((file, Array(prefix)))
        producer = pipe.startProducer(segmented: { writer in
            let (file, prefix) = box.value
            let reader = prefix.withUnsafeBytes { ArchiveReader(file: file, prefix: $0) }
            while let entry = try reader.nextMember() {
                list.entries.withLock { $0.append(entry) }
                try reader.readMember(writer.write)
                try writer.endSegment()
            }
            try reader.finish()
        })
    }

    deinit { stop() }

    func nextMember() throws -> ZipEntry? {
        precondition(first == nil, "nextMember before the current member was read")
        guard let chunk = try pipe.nextMarked() else { return nil }
        first = chunk
        let position = taken
        taken += 1
        return list.entries.withLock { $0[position] }
    }

    func readMember(_ consumer: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard var chunk = first else { preconditionFailure("readMember without nextMember") }
        first = nil
        while true {
            do {
                try consumer(chunk.bytes)
            } catch {
                pipe.release(slot: chunk.slot)
                throw error
            }
            pipe.release(slot: chunk.slot)
            if chunk.endsSegment { return }
            // The thread ends a member with a marked chunk or fails; the end of the pipe in between cannot happen.
            guard let next = try pipe.nextMarked() else { preconditionFailure("archive reader ended inside a member") }
            chunk = next
        }
    }

    /// The thread checked the directory and the file before it ended the pipe; this waits for it.
    func finish() throws { stop() }

    /// Stops the thread (if still running) and waits for it. Safe to call more than once.
    func stop() {
        if let chunk = first {
            pipe.release(slot: chunk.slot)
            first = nil
        }
        pipe.cancel()
        producer.join()
    }
}

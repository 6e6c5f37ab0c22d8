// Handoff: runs the first stage (read + inflate) on a thread of its own, a few chunks ahead of the rest, so that
// inflating the next chunk, exp on the current one and deflating the previous one proceed at the same time. Chunks
// travel through a fixed pool of buffers (no allocation per chunk; memory = depth x chunk size). The producer hands
// the input's SHA-256 to a thread of its own (`InputFile.hashOnAnotherThread`), so hashing a piece and inflating it
// overlap instead of adding up on the producer's thread.
//
// Ownership: every buffer slot is in exactly one place at a time: the free list, the producer's hands, the filled
// queue, or the consumer's hands; the lists are guarded by one `ConditionLock`. Either side may stop at any moment:
// `cancel()` wakes every waiter, later `acquire`s return nil and `publish`es drop their slot, so no state can block
// or trap (there are no counting semaphores whose balance must be restored). The producer thread is always joined
// before its pipe goes away. Relies on Concurrency (ConditionLock, WorkerThread).

/// A bounded hand-off of byte chunks from one producer thread to one consumer.
final class ChunkPipe: @unchecked Sendable {
    // Buffer contents are touched only by the side that owns the slot (see the header); `lock` guards the rest.
    private let buffers: [AlignedBuffer]
    private let lock = ConditionLock()
    private var freeSlots: [Int]
    private var filledSlots: [(slot: Int, count: Int, endsSegment: Bool)] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false

    init(depth: Int, chunkBytes: Int) {
        buffers = (0..<max(1, depth)).map { _ in AlignedBuffer(byteCount: chunkBytes) }
        freeSlots = Array(buffers.indices)
    }

    // MARK: producer side

    /// Waits for a free buffer; nil once the consumer has cancelled.
    func acquire() -> (slot: Int, buffer: AlignedBuffer)? {
        let slot: Int? = lock.wait(until: { cancelled || !freeSlots.isEmpty }) {
            cancelled ? nil : freeSlots.removeLast()
        }
        return slot.map { ($0, buffers[$0]) }
    }

    /// Hands a filled buffer to the consumer (dropped when cancelled); `endsSegment`: the last chunk of a segment
    /// (an archive member), possibly partial or empty.
    func publish(slot: Int, count: Int, endsSegment: Bool = false) {
        lock.withLock {
            if cancelled { freeSlots.append(slot) } else { filledSlots.append((slot, count, endsSegment)) }
        }
        lock.broadcast()
    }

    /// No more chunks: the input ended, or failed with `error`.
    func finish(error: (any Error)?) {
        lock.withLock {
            finished = true
            failure = error
        }
        lock.broadcast()
    }

    // MARK: consumer side

    /// The next filled chunk in order, or nil at the end; rethrows the producer's error once the queue is empty.
    func next() throws -> (slot: Int, bytes: UnsafeRawBufferPointer)? {
        try nextMarked().map { ($0.slot, $0.bytes) }
    }

    /// The next filled chunk and whether it ends a segment; nil at the end, or the producer's error.
    func nextMarked() throws -> (slot: Int, bytes: UnsafeRawBufferPointer, endsSegment: Bool)? {
        let item: (slot: Int, count: Int, endsSegment: Bool)? = try lock.wait(
            until: { !filledSlots.isEmpty || finished || cancelled }
        ) {
            if !filledSlots.isEmpty { return filledSlots.removeFirst() }
            if let failure { throw failure }
            return nil
        }
        return item.map {
            ($0.slot, UnsafeRawBufferPointer(start: buffers[$0.slot].base, count: $0.count), $0.endsSegment)
        }
    }

    /// Gives a consumed buffer back to the producer.
    func release(slot: Int) {
        lock.withLock { freeSlots.append(slot) }
        lock.broadcast()
    }

    /// Either side gives up: wakes every waiter; nothing blocks from now on.
    func cancel() {
        lock.withLock { cancelled = true }
        lock.broadcast()
    }
}

/// Thrown inside the producer when the consumer cancelled.
struct PipeCancelled: Error {}

/// The producer's end of a pipe: cuts the bytes it is given into the pipe's chunks. Used only on the producer thread.
final class PipeWriter: InPlaceOutput {
    private let pipe: ChunkPipe
    private var current: (slot: Int, buffer: AlignedBuffer)?
    private var filledBytes = 0

    init(_ pipe: ChunkPipe) { self.pipe = pipe }

    /// Appends `bytes`, publishing each chunk as it fills; throws `PipeCancelled` once the consumer has gone.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let target = try buffer()
            let take = min(bytes.count - offset, target.count - filledBytes)
            (target.base + filledBytes).copyMemory(from: bytes.baseAddress! + offset, byteCount: take)
            filledBytes += take
            offset += take
            if filledBytes == target.count { publish(endsSegment: false) }
        }
    }

    /// Ends a segment: publishes what has been written since the last full chunk (even nothing), marked.
    func endSegment() throws {
        _ = try buffer()
        publish(endsSegment: true)
    }

    /// The free end of the chunk being filled (a new chunk once the last is full), to be written in place.
    func room() throws -> UnsafeMutableRawBufferPointer {
        let target = try buffer()
        return UnsafeMutableRawBufferPointer(start: target.base + filledBytes, count: target.count - filledBytes)
    }

    /// Counts `count` bytes written in place at the start of the last `room()`; publishes the chunk when full.
    func advance(by count: Int) {
        precondition(current != nil && filledBytes + count <= current!.buffer.count, "advanced past the room")
        filledBytes += count
        if filledBytes == current!.buffer.count { publish(endsSegment: false) }
    }

    /// Publishes the last partial chunk.
    func flush() {
        if current != nil { publish(endsSegment: false) }
    }

    /// Publishes the chunk being filled, even if partial, unless nothing is in it yet (the next `room()` is then a
    /// whole chunk either way).
    func endChunk() {
        if current != nil && filledBytes > 0 { publish(endsSegment: false) }
    }

    private func buffer() throws -> AlignedBuffer {
        if let current { return current.buffer }
        guard let next = pipe.acquire() else { throw PipeCancelled() }
        current = next
        filledBytes = 0
        return next.buffer
    }

    private func publish(endsSegment: Bool) {
        pipe.publish(slot: current!.slot, count: filledBytes, endsSegment: endsSegment)
        current = nil
    }
}

extension ChunkPipe {
    /// Starts `produce` on a thread of its own, its bytes cut into this pipe's chunks; join the returned thread
    /// before the pipe goes away. `produce` hands its bytes, in order, to the function it is given.
    func startProducer(_ produce: @escaping ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) -> WorkerThread {
        startProducer(segmented: { writer in try produce(writer.write) })
    }

    /// Starts `produce` on a thread of its own with the pipe's writer, which can also mark where segments end.
    func startProducer(segmented produce: @escaping (PipeWriter) throws -> Void) -> WorkerThread {
        WorkerThread {
            let writer = PipeWriter(self)
            do {
                try produce(writer)
                writer.flush()
                self.finish(error: nil)
            } catch {
                self.finish(error: error)
            }
        }
    }
}

extension InputReader {
    /// Starts reading and inflating on a thread of its own into `pipe`; join the returned thread before `pipe` and
    /// this reader go away.
    func startProducing(into pipe: ChunkPipe) -> WorkerThread {
        let reader = UncheckedBox(self)
        return pipe.startProducer(segmented: { writer in
            // The input's SHA-256 runs beside inflate; settled before this thread ends, while the reader's buffers
            // still exist.
            reader.value.useHashThread()
            defer { reader.value.file.settleHash() }
            try reader.value.run(writer.write, inPlace: writer)
        })
    }

    /// Like `run`, but reading and inflating happen on another thread, `depth` chunks ahead of `consumer`. Whatever
    /// fails, on either side, the producer is stopped and joined before this returns.
    func runOverlapped(depth: Int, chunkBytes: Int, _ consumer: (UnsafeRawBufferPointer) throws -> Void) throws {
        let pipe = ChunkPipe(depth: depth, chunkBytes: chunkBytes)
        let producer = startProducing(into: pipe)
        defer {
            pipe.cancel()
            producer.join()
        }
        while let (slot, bytes) = try pipe.next() {
            defer { pipe.release(slot: slot) }
            try consumer(bytes)
        }
    }
}

/// Pull-style reading of a decompressed input: the reader runs ahead on its own thread; `read` copies out exactly
/// the bytes asked for. Used where two inputs must advance in lockstep (backward: result and gradient).
final class PullStream {
    private let pipe: ChunkPipe
    private let producer: WorkerThread
    private var current: (slot: Int, bytes: UnsafeRawBufferPointer)?
    private var offset = 0
    private var ended = false

    init(_ reader: InputReader, depth: Int = 2, chunkBytes: Int = 4 << 20) {
        pipe = ChunkPipe(depth: depth, chunkBytes: chunkBytes)
        producer = reader.startProducing(into: pipe)
    }

    /// The bytes `produce` hands on, made on a thread of its own (see `ChunkPipe.startProducer`).
    init(depth: Int = 2, chunkBytes: Int = 4 << 20,
         _ produce: @escaping ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
        pipe = ChunkPipe(depth: depth, chunkBytes: chunkBytes)
        producer = pipe.startProducer(produce)
    }

    deinit { stop() }

    /// Copies up to `count` bytes into `destination`; fewer only at the end of the input.
    func read(into destination: UnsafeMutableRawPointer, count: Int) throws -> Int {
        var copied = 0
        while copied < count {
            if current == nil {
                if ended { break }
                do {
                    guard let next = try pipe.next() else {
                        ended = true
                        break
                    }
                    current = next
                    offset = 0
                } catch {
                    ended = true
                    throw error
                }
            }
            let chunk = current!
            let take = min(count - copied, chunk.bytes.count - offset)
            (destination + copied).copyMemory(from: chunk.bytes.baseAddress! + offset, byteCount: take)
            copied += take
            offset += take
            if offset == chunk.bytes.count {
                pipe.release(slot: chunk.slot)
                current = nil
            }
        }
        return copied
    }

    /// Stops the producer (if still running) and waits for its thread. Safe to call more than once.
    func stop() {
        current = nil
        pipe.cancel()
        producer.join()
    }
}

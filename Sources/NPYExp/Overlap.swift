// Overlap: runs the first stage (read + inflate) on its own thread, one chunk ahead of the rest, so that inflating the
// next chunk, exp on the current one and deflating the previous one proceed at the same time. Chunks travel through
// a fixed pool of buffers (no allocation per chunk; memory = depth x chunk size). Relies on Dispatch (semaphores,
// a global queue for the producer) and Synchronization.Mutex.
import Dispatch
import Synchronization

/// A bounded hand-off of byte chunks from one producer thread to one consumer.
final class ChunkPipe: @unchecked Sendable {
    // Buffers are handed back and forth through the semaphores: a buffer index is owned by exactly one side at a
    // time, so the unsynchronised buffer contents are never shared; the Mutex guards the queues and flags.
    private let buffers: [AlignedBuffer]
    private let free: DispatchSemaphore
    private let filled = DispatchSemaphore(value: 0)
    private struct State {
        var freeSlots: [Int]
        var filledSlots: [(slot: Int, count: Int)] = []
        var finished = false
        var error: (any Error)?
        var cancelled = false
    }
    private let state: Mutex<State>

    init(depth: Int, chunkBytes: Int) {
        buffers = (0..<depth).map { _ in AlignedBuffer(byteCount: chunkBytes) }
        free = DispatchSemaphore(value: depth)
        state = Mutex(State(freeSlots: Array(0..<depth)))
    }

    var chunkBytes: Int { buffers[0].count }

    // MARK: producer side

    /// Waits for a free buffer; nil when the consumer has given up.
    func acquire() -> (slot: Int, buffer: AlignedBuffer)? {
        free.wait()
        return state.withLock { s in
            if s.cancelled { return nil }
            let slot = s.freeSlots.removeLast()
            return (slot, buffers[slot])
        }
    }

    func publish(slot: Int, count: Int) {
        state.withLock { $0.filledSlots.append((slot, count)) }
        filled.signal()
    }

    func finish(error: (any Error)?) {
        state.withLock { s in
            s.finished = true
            s.error = error
        }
        filled.signal()
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    // MARK: consumer side

    /// Next filled chunk, or nil at the end (rethrowing the producer's error).
    func next() throws -> (slot: Int, bytes: UnsafeRawBufferPointer)? {
        while true {
            filled.wait()
            let item: (Int, Int)?
            let end: (Bool, (any Error)?)
            (item, end) = state.withLock { s in
                if !s.filledSlots.isEmpty {
                    let first = s.filledSlots.removeFirst()
                    return ((first.slot, first.count), (false, nil))
                }
                return (nil, (s.finished, s.error))
            }
            if let (slot, count) = item {
                return (slot, UnsafeRawBufferPointer(start: buffers[slot].base, count: count))
            }
            if end.0 {
                if let e = end.1 { throw e }
                return nil
            }
        }
    }

    func release(slot: Int) {
        state.withLock { $0.freeSlots.append(slot) }
        free.signal()
    }

    /// The consumer stops early: wakes a producer blocked on a full pipe.
    func cancel() {
        state.withLock { $0.cancelled = true }
        free.signal()
    }
}

/// Thrown inside the producer when the consumer cancelled.
struct PipeCancelled: Error {}

extension InputReader {
    /// Starts reading and inflating on another thread into `pipe`; `done` is signalled when that thread is finished.
    func startProducing(into pipe: ChunkPipe) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let reader = UncheckedBox(self)
        DispatchQueue.global().async {
            var current: (slot: Int, buffer: AlignedBuffer)?
            var filledBytes = 0
            do {
                try reader.value.run { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        if current == nil {
                            guard let next = pipe.acquire() else { throw PipeCancelled() }
                            current = next
                            filledBytes = 0
                        }
                        let target = current!.buffer
                        let take = min(bytes.count - offset, target.count - filledBytes)
                        (target.base + filledBytes).copyMemory(from: bytes.baseAddress! + offset, byteCount: take)
                        filledBytes += take
                        offset += take
                        if filledBytes == target.count {
                            pipe.publish(slot: current!.slot, count: filledBytes)
                            current = nil
                        }
                    }
                }
                if let c = current, filledBytes > 0 { pipe.publish(slot: c.slot, count: filledBytes) }
                pipe.finish(error: nil)
            } catch {
                pipe.finish(error: error)
            }
            done.signal()
        }
        return done
    }

    /// Like `run`, but reading and inflating happen on another thread, `depth` chunks ahead of `consumer`.
    func runOverlapped(depth: Int, chunkBytes: Int, _ consumer: (UnsafeRawBufferPointer) throws -> Void) throws {
        let pipe = ChunkPipe(depth: depth, chunkBytes: chunkBytes)
        let done = startProducing(into: pipe)
        defer { done.wait() }
        do {
            while let (slot, bytes) = try pipe.next() {
                defer { pipe.release(slot: slot) }
                try consumer(bytes)
            }
        } catch {
            pipe.cancel()
            throw error
        }
    }
}

/// Pull-style reading of a decompressed input: the reader runs ahead on its own thread; `read` copies out exactly
/// the bytes asked for. Used where two inputs must advance in lockstep (backward: result and gradient).
final class PullStream {
    private let pipe: ChunkPipe
    private let done: DispatchSemaphore
    private var current: (slot: Int, bytes: UnsafeRawBufferPointer)?
    private var offset = 0
    private var ended = false
    private var stopped = false

    init(_ reader: InputReader, depth: Int = 2, chunkBytes: Int = 4 << 20) {
        pipe = ChunkPipe(depth: depth, chunkBytes: chunkBytes)
        done = reader.startProducing(into: pipe)
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

    /// Stops the producer (if still running) and waits for its thread.
    func stop() {
        guard !stopped else { return }
        stopped = true
        if let c = current { pipe.release(slot: c.slot) }
        current = nil
        pipe.cancel()
        // Drain so a producer blocked on a full pipe can see the cancellation; once the end was seen, the
        // producer has finished and nothing more will come.
        if !ended {
            while let next = try? pipe.next() { pipe.release(slot: next.slot) }
        }
        done.wait()
    }
}

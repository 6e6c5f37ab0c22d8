// Parallel: the few shared pieces for running work on all cores with DispatchQueue.concurrentPerform, whose
// closure must be @Sendable: aligned buffers owned by one object, raw pointers shared with iterations that each touch
// their own range, per-iteration error slots, and the two ways work is split (whole items, or slices of elements).
// Relies on Dispatch.
import Dispatch

enum Parallel {
    /// Runs `body(i)` for i in 0..<iterations: inline for a single iteration or a single job, else on all cores.
    static func run(_ iterations: Int, jobs: Int, _ body: @Sendable (Int) -> Void) {
        if iterations <= 1 || jobs <= 1 {
            for i in 0..<iterations { body(i) }
        } else {
            DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
        }
    }

    /// `body(i)` for i in 0..<iterations on all cores, results in index order. The per-iteration result slots are
    /// hidden here: each iteration writes only its own.
    static func map<T>(_ iterations: Int, jobs: Int, _ body: @Sendable (Int) -> T) -> [T] {
        let slots = ResultSlots<T>(count: iterations)
        run(iterations, jobs: jobs) { i in slots.set(i, body(i)) }
        return slots.values
    }

    /// Like `map`, for throwing bodies: the first error in index order is thrown once all iterations are done.
    static func mapThrowing<T>(_ iterations: Int, jobs: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let results = map(iterations, jobs: jobs) { i in Result { try body(i) } }
        return try results.map { try $0.get() }
    }

    /// Splits `count` elements into at most `jobs` contiguous slices of at least `minimum` elements (smaller ones
    /// cost more in dispatch than they save), runs `body(range)` for each, and returns the results in slice order.
    static func slices<T>(
        of count: Int, jobs: Int, minimum: Int = 16_384, _ body: @Sendable (_ range: Range<Int>) -> T
    ) -> [T] {
        let slices = max(1, min(jobs, count / minimum))
        let perSlice = (count + slices - 1) / slices
        return map(slices, jobs: jobs) { s in
            let start = min(count, s * perSlice)
            return body(start..<min(count, start + perSlice))
        }
    }
}

/// One result slot per parallel iteration. Unchecked Sendable because each iteration writes only its own slot, and
/// the slots are read only after `concurrentPerform` has returned.
private final class ResultSlots<T>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<T?>
    init(count: Int) {
        slots = .allocate(capacity: max(count, 1))
        slots.initialize(repeating: nil)
    }
    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
    func set(_ i: Int, _ value: T) { slots[i] = value }
    var values: [T] { slots.compactMap { $0 } }
}

/// Shares a buffer's base address with the iterations of `concurrentPerform`, whose closure must be `@Sendable`.
/// Safe because every iteration reads and writes only its own disjoint range of elements.
struct SharedPointer: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// A 64-byte aligned byte buffer owned by one object.
final class AlignedBuffer {
    let bytes: UnsafeMutableRawBufferPointer
    init(byteCount: Int) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 64), alignment: 64)
    }
    deinit { bytes.deallocate() }
    var base: UnsafeMutableRawPointer { bytes.baseAddress! }
    var count: Int { bytes.count }

    /// Appends `pieces` after the first `filled` bytes; each time the buffer is full, `whenFull` gets the byte count
    /// and the buffer starts over (`filled` back to 0). The way a stage turns pieces of any size into fixed chunks.
    func gather(_ pieces: UnsafeRawBufferPointer, filled: inout Int, whenFull: (Int) throws -> Void) rethrows {
        var offset = 0
        while offset < pieces.count {
            let take = min(pieces.count - offset, count - filled)
            (base + filled).copyMemory(from: pieces.baseAddress! + offset, byteCount: take)
            filled += take
            offset += take
            if filled == count {
                try whenFull(filled)
                filled = 0
            }
        }
    }
}

/// Moves a non-Sendable reference to the producer thread; only that thread uses it until `done` is signalled.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

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

    /// Splits `count` elements into at most `jobs` contiguous slices of at least `minimum` elements (smaller ones
    /// cost more in dispatch than they save) and runs `body(slice, range)` for each.
    static func slices(
        of count: Int, jobs: Int, minimum: Int = 16_384, _ body: @Sendable (_ slice: Int, _ range: Range<Int>) -> Void
    ) {
        let slices = max(1, min(jobs, count / minimum))
        let perSlice = (count + slices - 1) / slices
        run(slices, jobs: jobs) { s in
            let start = s * perSlice
            let end = min(count, start + perSlice)
            if start < end { body(s, start..<end) }
        }
    }
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
}

/// One error slot per parallel iteration, so the first failure in input order is the one reported.
final class ErrorSlots: @unchecked Sendable {
    // Each iteration writes only its own slot; they are read after concurrentPerform returns.
    private let slots: UnsafeMutableBufferPointer<(any Error)?>
    init(count: Int) {
        slots = .allocate(capacity: max(count, 1))
        slots.initialize(repeating: nil)
    }
    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
    func set(_ i: Int, _ e: any Error) { slots[i] = e }
    var first: (any Error)? { slots.lazy.compactMap { $0 }.first }
}

/// Moves a non-Sendable reference to the producer thread; only that thread uses it until `done` is signalled.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

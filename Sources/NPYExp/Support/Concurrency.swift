// Concurrency: the primitives the job layer builds its hand-offs on. `ConditionLock` is a mutex with a condition
// variable (pthread), for queues whose waiters must be woken by cancellation in any state: unlike a counting
// semaphore it has no "value below its initial value" to trap on when it is released with work still queued.
// `WorkerThread` runs a producer on a thread of its own, outside Dispatch's pool, so a producer blocked on a full
// queue never holds a pool thread that `concurrentPerform` needs. `HandOffThread` is a worker thread that takes items
// from its owner in order, a bounded number at a time (the input's hash thread, an output's writer thread).
// Relies on Glibc (pthread).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A mutex and one condition variable at a stable heap address.
final class ConditionLock: @unchecked Sendable {
    // The pthread objects are only ever touched through these pointers, never moved.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the mutex held.
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// With the mutex held: waits until `ready()` is true, then runs `body`.
    func wait<T>(until ready: () -> Bool, then body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready() { pthread_cond_wait(condition, mutex) }
        return try body()
    }

    /// Wakes every waiter (they re-check their condition).
    func broadcast() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}

/// A body running on a dedicated thread; `join()` waits for it to return.
final class WorkerThread: @unchecked Sendable {
    private var thread = pthread_t()
    private var joined = false
    // Owned by the thread until it returns: the box is retained across pthread_create and released by the thread.
    private final class Start {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread. If no thread can be made (resource limits), runs it inline instead.
    init(_ body: @escaping () -> Void) {
        let start = Unmanaged.passRetained(Start(body))
        let made = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.body()
            return nil
        }, start.toOpaque())
        if made != 0 {
            start.takeRetainedValue().body()
            joined = true
        }
    }

    /// Waits for the body to return (once; later calls return at once).
    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }

    deinit { join() }
}

/// A thread that does `work` on the items its owner hands over, in order, with at most `capacity` of them
/// outstanding (handed over and not done): handing over one more waits for room, so the owner may reuse what an
/// item points to once `capacity` more items have been handed over after it, or after `wait`. With capacity 1 that
/// is "once the next item is handed over". Whatever `work` writes is the owner's to read after `wait`. If no thread
/// can be made, items are worked on by `handOver` itself. The thread holds this object until `stop`, which the
/// owner must call.
final class HandOffThread<Item>: @unchecked Sendable {
    private let lock = ConditionLock()
    /// Items handed over and not yet done, oldest first; the first is the one being worked on.
    private var queue: [Item] = []
    private let capacity: Int
    private var stopping = false
    private var thread: WorkerThread?
    /// No thread could be made (WorkerThread then runs its body inline).
    private var inline = false
    private let work: (Item) -> Void

    /// `capacity`: items that may be handed over before `handOver` waits for the oldest.
    init(capacity: Int = 1, _ work: @escaping (Item) -> Void) {
        self.work = work
        self.capacity = max(1, capacity)
        let creator = pthread_self()
        thread = WorkerThread { [self] in
            if pthread_equal(pthread_self(), creator) != 0 {
                lock.withLock { inline = true }
                return
            }
            while let item = lock.wait(until: { !queue.isEmpty || stopping }, then: { queue.first }) {
                work(item)
                lock.withLock { _ = queue.removeFirst() }
                lock.broadcast()
            }
        }
    }

    /// Waits until fewer than `capacity` items are outstanding, then hands `item` over.
    func handOver(_ item: Item) {
        waitForRoom()
        if lock.withLock({ inline }) {
            work(item)
            return
        }
        lock.withLock { queue.append(item) }
        lock.broadcast()
    }

    /// Waits until fewer than `capacity` items are outstanding: every item handed over `capacity` or more
    /// hand-overs ago is done.
    func waitForRoom() {
        lock.wait(until: { queue.count < capacity }, then: {})
    }

    /// Waits until every item handed over is done.
    func wait() {
        lock.wait(until: { queue.isEmpty }, then: {})
    }

    /// Finishes the items in hand, then ends the thread and waits for it.
    func stop() {
        wait()
        lock.withLock { stopping = true }
        lock.broadcast()
        thread?.join()
        thread = nil
    }
}

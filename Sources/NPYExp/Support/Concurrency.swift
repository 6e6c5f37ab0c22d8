// Concurrency: the two primitives the job layer builds its hand-offs on. `ConditionLock` is a mutex with a condition
// variable (pthread), for queues whose waiters must be woken by cancellation in any state: unlike a counting
// semaphore it has no "value below its initial value" to trap on when it is released with work still queued.
// `WorkerThread` runs a producer on a thread of its own, outside Dispatch's pool, so a producer blocked on a full
// queue never holds a pool thread that `concurrentPerform` needs. Relies on Glibc (pthread).
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

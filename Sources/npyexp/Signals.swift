// Signals: SIGINT, SIGTERM and SIGHUP remove this run's temporary files and exit 128+N, so that a job stopped by
// Slurm, Kubernetes or a terminal leaves nothing that looks like an output; one line says so, and nothing else is
// printed after it (the writer of standard streams is silenced first). SIGPIPE and SIGXFSZ are ignored: a closed
// pipe or a file size limit (`ulimit -f`) then fails the write that met it (EPIPE, EFBIG), which is reported as an
// error of that output, instead of killing the whole batch. No signal handler runs: the signals are
// blocked in every thread (threads inherit the mask of the thread that creates them, so blocking them before any
// worker exists covers Dispatch's threads too) and one dedicated thread takes them with sigwait(2). That thread is an
// ordinary thread, so it may take locks and free memory, which a signal handler may not.
// Relies on Glibc (pthread, sigwait) and NPYExp.TemporaryFiles.
import NPYExp

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Removes this run's temporary files and exits 128+N on SIGINT, SIGTERM and SIGHUP.
enum SignalCleanup {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Call before any other thread is started (first thing in a command's `run()`). Idempotent.
    static func install() {
        _ = installed
    }

    private static let installed: Void = {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        for sig in signals { sigaddset(&set, sig) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { _ in
            var set = sigset_t()
            sigemptyset(&set)
            for sig in SignalCleanup.signals { sigaddset(&set, sig) }
            var sig: Int32 = 0
            while sigwait(&set, &sig) != 0 {}
            let name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP"
            StandardStreams.silence(finalLine: "npyexp: stopped by \(name); this run's temporary files were removed")
            TemporaryFiles.removeAll()
            _exit(128 + sig)
        }, nil)
        if started == 0 {
            pthread_detach(thread)
        } else {
            // No thread, no cleanup: better the default action (terminate) than signals that are never taken.
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
        }
    }()
}

// Signals: SIGINT, SIGTERM and SIGHUP remove this run's temporary files and exit 128+N, so that a job stopped by
// Slurm or Kubernetes leaves nothing that looks like an output. Relies on Glibc and NPYExp.TemporaryFiles.
import NPYExp

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Removes this run's temporary files and exits 128+N on SIGINT, SIGTERM and SIGHUP.
enum SignalCleanup {
    nonisolated(unsafe) static var installed = false

    static func install() {
        guard !installed else { return }
        installed = true
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                TemporaryFiles.removeAll()
                _exit(128 + sig)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, nil)
        }
    }
}

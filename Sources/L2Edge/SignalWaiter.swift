#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT and SIGTERM into an orderly stop: call `blockTerminationSignals()` first thing
/// (before any thread starts, so every thread inherits the mask), then `waitForTermination()` on
/// the main thread, which returns the signal that arrived.
public enum SignalWaiter {
    private static func terminationSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        return set
    }

    public static func blockTerminationSignals() {
        // A parent may have set them to "ignore" (a shell does for background jobs); an ignored
        // signal is discarded, not queued, so sigwait would never see it.
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        signal(SIGHUP, SIG_DFL)
        var set = terminationSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Blocks until SIGINT, SIGTERM or SIGHUP; returns its number.
    public static func waitForTermination() -> Int32 {
        var set = terminationSet()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    /// Waits up to `milliseconds` for a termination signal; returns it, or nil on timeout.
    public static func pollTermination(milliseconds: Int) -> Int32? {
        var set = terminationSet()
        var timeout = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        let received = sigtimedwait(&set, nil, &timeout)
        return received > 0 ? received : nil
    }
}

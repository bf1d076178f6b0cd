#if canImport(Glibc)
import Glibc
#endif

/// Reads the system clocks as nanoseconds. Pure targets never call this: the edges read the
/// time and pass it in.
public enum SystemClock {
    /// CLOCK_MONOTONIC in nanoseconds: for intervals and deadlines inside one process.
    @inlinable @inline(__always)
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// CLOCK_REALTIME in nanoseconds since the epoch: for captures and for times compared across
    /// processes (downtime, relearn), since every process on the machine shares it.
    @inlinable @inline(__always)
    public static func wallNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func sleep(nanoseconds: UInt64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}

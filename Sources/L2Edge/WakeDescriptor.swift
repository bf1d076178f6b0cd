import CTap
#if canImport(Glibc)
import Glibc
#endif

/// A descriptor an event loop puts in its `poll` set next to its I/O descriptors so it can sleep
/// with no timeout: a periodic timer (`timerfd`) for housekeeping, or an event (`eventfd`) another
/// thread signals, e.g. to stop the loop. Sleeping without a timeout costs nothing while idle and
/// arms no kernel timer on every `poll`.
public final class WakeDescriptor: Sendable {
    public let descriptor: OwnedDescriptor

    private init(_ raw: Int32, what: String) throws(SystemError) {
        guard raw >= 0 else { throw SystemError(what) }
        descriptor = OwnedDescriptor(taking: raw)
    }

    /// Readable every `milliseconds` (consume it each time); 0 is refused (EINVAL).
    public static func every(milliseconds: UInt32) throws(SystemError) -> WakeDescriptor {
        try WakeDescriptor(l2m_timer_every(milliseconds), what: "timerfd")
    }

    /// Readable once `signal()` is called, until consumed.
    public static func event() throws(SystemError) -> WakeDescriptor {
        try WakeDescriptor(l2m_event_open(), what: "eventfd")
    }

    public var rawValue: Int32 { descriptor.rawValue }

    /// Makes an event readable (wakes the thread polling it).
    public func signal() { _ = l2m_wake_signal(descriptor.rawValue) }

    /// Sleeps until the descriptor is readable, then clears it (for a thread with nothing else to wait on).
    public func wait() {
        var entry = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        _ = retryingOnInterrupt { poll(&entry, 1, -1) }
        consume()
    }

    /// Sleeps until `other` is readable (true) or this descriptor is (false; it stays readable, so a
    /// stop event wakes every thread that waits on it): for a thread that serves one descriptor until
    /// it is told to stop. If `poll` itself fails it returns false after 10 ms, so a caller that
    /// loops on its stop flag does not spin.
    /// The poll set lives on the stack: a host's uplink thread calls this once per batch of frames.
    public func wait(orReadable other: Int32) -> Bool {
        withUnsafeTemporaryAllocation(of: pollfd.self, capacity: 2) { entries in
            entries[0] = pollfd(fd: other, events: Int16(POLLIN), revents: 0)
            entries[1] = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
            guard retryingOnInterrupt({ poll(entries.baseAddress, 2, -1) }) > 0 else {
                usleep(10_000)
                return false
            }
            return entries[1].revents == 0 && entries[0].revents != 0
        }
    }

    /// Clears the readable state. Returns false if it was not readable.
    @discardableResult
    public func consume() -> Bool { l2m_wake_consume(descriptor.rawValue) == 0 }
}

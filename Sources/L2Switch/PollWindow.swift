/// How long a forwarding thread keeps polling, without sleeping, after it forwarded frames: an
/// adaptive window in the manner of QEMU's event loop (`poll-max-ns`, `poll-grow`, `poll-shrink`).
///
/// After each wait that ended with frames, the thread reports how long it waited. A wait the window
/// already covered leaves it alone; a longer wait that polling could still have covered (at most
/// `maximum`) doubles it, starting at `initial`; a wait longer than `maximum` halves it (below
/// `initial` it shuts). So a steady stream, whose frames mostly follow each other within the window,
/// is caught by polling instead of a sleep and a wakeup, and an occasional long pause does not undo
/// that; sparse traffic (a ping every millisecond) shuts the window within a few frames and then
/// costs no CPU. Pure: time comes in as nanoseconds.
public struct PollWindow: Hashable, Sendable {
    /// The longest the window may grow, in nanoseconds; 0 turns polling off.
    public let maximum: UInt64
    /// The current window, in nanoseconds: 0 (sleep at once) up to `maximum`.
    public private(set) var current: UInt64 = 0

    /// The first window opened after a wait it could have covered: 4 µs.
    public static let initial: UInt64 = 4_000

    public init(maximumNanoseconds: UInt64) {
        maximum = maximumNanoseconds
    }

    /// Whether a thread idle for `idleNanoseconds` since it last forwarded should still poll.
    @inlinable
    public func keepsPolling(idleNanoseconds: UInt64) -> Bool {
        idleNanoseconds < current
    }

    /// Adjusts the window to a wait of `idleNanoseconds` that ended with frames to forward.
    public mutating func observe(idleNanoseconds idle: UInt64) {
        if idle <= current { return }
        if idle > maximum {
            current = current / 2 < Self.initial ? 0 : current / 2
        } else {
            current = current == 0 ? min(Self.initial, maximum) : (current > maximum / 2 ? maximum : current * 2)
        }
    }
}

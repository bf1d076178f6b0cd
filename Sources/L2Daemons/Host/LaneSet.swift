import L2Edge
import L2Migration
#if canImport(Glibc)
import Glibc
#endif

/// The extra lanes (1…N−1) of one migration on one host, each a `StreamPump` on its own TCP
/// connection, and one poll over lane 0's pump and all of them, so a single thread serves every lane
/// (the driver's loop already holds the state machine; on these 2-core machines one more thread per
/// lane would only compete with the switches for the CPUs). With no extra lane a turn is lane 0's own
/// `turn`, exactly as with one stream.
struct LaneSet {
    /// One extra lane.
    struct Lane {
        var pump: StreamPump
        /// The vMotion interface it runs over (`vmk2`).
        let interface: String
        /// When its output last moved (monotonic ns), and how much was pending then.
        var lastProgress: UInt64
        var lastPending = 0
    }

    private(set) var lanes: [Int: Lane] = [:]
    /// Reused by every poll: lane 0 first, then the lanes in `order`.
    private var entries: [pollfd] = []
    private var order: [Int] = []

    var isEmpty: Bool { lanes.isEmpty }
    var indices: [Int] { order }

    mutating func add(_ lane: Int, pump: StreamPump, interface: String) {
        lanes[lane] = Lane(pump: pump, interface: interface, lastProgress: SystemClock.monotonicNanoseconds())
        order = lanes.keys.sorted()
    }

    /// True when no extra lane has output queued in user space (their shares are in the kernel).
    var allDrained: Bool { lanes.values.allSatisfy { !$0.pump.hasPendingOutput } }

    /// Hands lane `lane`'s emptied output buffer to `fill` (see `StreamPump.refill`).
    mutating func refill(_ lane: Int, _ fill: (inout [UInt8]) -> Void) {
        lanes[lane]?.pump.refill(fill)
    }

    func isDrained(_ lane: Int) -> Bool { lanes[lane].map { !$0.pump.hasPendingOutput && !$0.pump.closed } ?? false }

    /// One poll over lane 0 and every open lane, up to `timeoutMilliseconds`: each writes what its
    /// socket takes and hands its reads to `received(lane, bytes)` (valid only during the call).
    /// Returns the lanes that closed, with why (lane 0 included).
    mutating func turn<Pump: MigrationPump>(lane0: inout Pump, timeoutMilliseconds: Int32,
                                            received: (Int, ArraySlice<UInt8>) -> Void) -> [(lane: Int, reason: String)] {
        guard !lanes.isEmpty else {
            return lane0.turn(timeoutMilliseconds: timeoutMilliseconds) { received(0, $0) }.map { [(0, $0)] } ?? []
        }
        entries.removeAll(keepingCapacity: true)
        // A closed pump polls a descriptor of -1, which poll ignores.
        entries.append(lane0.pollEntry ?? pollfd(fd: -1, events: 0, revents: 0))
        for lane in order { entries.append(lanes[lane]!.pump.pollEntry ?? pollfd(fd: -1, events: 0, revents: 0)) }
        let ready = poll(&entries, nfds_t(entries.count), timeoutMilliseconds)
        guard ready > 0 else { return [] }
        var closed: [(lane: Int, reason: String)] = []
        if entries[0].revents != 0, let reason = lane0.service(revents: entries[0].revents, received: { received(0, $0) }) {
            closed.append((0, reason))
        }
        for (position, lane) in order.enumerated() where entries[position + 1].revents != 0 {
            let revents = entries[position + 1].revents
            if let reason = lanes[lane]!.pump.service(revents: revents, received: { received(lane, $0) }) {
                closed.append((lane, reason))
            }
        }
        return closed
    }

    /// True when every extra lane has written its queue and the peer acknowledged nearly all of it.
    var allAcknowledged: Bool {
        lanes.values.allSatisfy { $0.pump.closed || (!$0.pump.hasPendingOutput && $0.pump.unacknowledgedBytes < 64 * 1024) }
    }

    /// Extra lanes whose queued output has not moved for `timeout` ns (the peer stopped reading).
    mutating func stalled(after timeout: UInt64) -> [Int] {
        let now = SystemClock.monotonicNanoseconds()
        var stalled: [Int] = []
        for lane in order {
            guard var entry = lanes[lane], !entry.pump.closed else { continue }
            let pending = entry.pump.pendingOutputBytes
            if pending == 0 || pending != entry.lastPending {
                entry.lastProgress = now
                entry.lastPending = pending
                lanes[lane] = entry
            } else if now - entry.lastProgress > timeout {
                stalled.append(lane)
            }
        }
        return stalled
    }

    /// Closes one lane at once (it stalled, or said something it must not).
    mutating func abort(_ lane: Int) { lanes[lane]?.pump.abort() }

    /// Closes every extra lane, dropping what is queued.
    mutating func closeAll() {
        for lane in order { lanes[lane]?.pump.abort() }
    }
}

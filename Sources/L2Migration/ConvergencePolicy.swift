/// What the source observed in one finished pre-copy round; the input to `ConvergencePolicy`.
public struct RoundObservation: Sendable, Equatable {
    /// 1 for the first round.
    public var round: Int
    /// Page records sent in the round (zero and normal).
    public var pagesSent: Int
    /// Bytes sent in the round, protocol overhead included.
    public var bytesSent: Int
    public var durationNanoseconds: UInt64
    /// Pages dirtied while the round was sent: what the next round (or the switchover) must send.
    public var dirtyPages: Int
    public var pageSize: Int
    /// Time since the migration started.
    public var elapsedNanoseconds: UInt64

    public init(round: Int, pagesSent: Int, bytesSent: Int, durationNanoseconds: UInt64, dirtyPages: Int,
                pageSize: Int, elapsedNanoseconds: UInt64) {
        self.round = round
        self.pagesSent = pagesSent
        self.bytesSent = bytesSent
        self.durationNanoseconds = durationNanoseconds
        self.dirtyPages = dirtyPages
        self.pageSize = pageSize
        self.elapsedNanoseconds = elapsedNanoseconds
    }
}

/// What to do after a round.
public enum ConvergenceDecision: Sendable, Equatable {
    /// Stun and send the rest: the expected downtime fits the target (or nothing is dirty).
    case switchover(expectedDowntimeNanoseconds: UInt64)
    /// Send another round; `throttlePercent` is the workload throttle to apply now if it changed.
    case nextRound(expectedDowntimeNanoseconds: UInt64, throttlePercent: Int?)
    /// Give up: a cap was reached. The VM keeps running on the source.
    case fail(reason: String)
}

/// The memory of the policy between rounds (auto-converge streak, current throttle, last bandwidth).
public struct ConvergenceState: Sendable, Equatable {
    public var highDirtyStreak = 0
    public var throttlePercent = 0
    /// Bytes per second measured in the last round that sent something.
    public var bandwidthBytesPerSecond: Double?
    /// The expected downtime after the previous round (nil before the first decision). If it fitted the
    /// target, the round just finished was a bought one (a fit either switches over or buys a round).
    public var previousExpectedDowntimeNanoseconds: UInt64?

    public init() {}
}

/// When to stop pre-copying: QEMU's rule with room for a shorter stun, auto-converge, vMotion-style caps.
///
/// After each round: bandwidth = bytes sent in the round / its duration; expected downtime = pending
/// dirty bytes / bandwidth; switch over when it is at most `downtimeTargetNanoseconds` (QEMU's
/// `downtime-limit`, 300 ms by default) or when nothing is dirty. Unlike QEMU, an expected downtime that
/// fits the target but is above `switchoverShare` of it (0.3 ms of 300 by default) buys one more round
/// as long as rounds keep at least halving it: with eight migrations sharing a link, the first round that fits
/// often fits with little room, and the bandwidth a round measured is not what the switchover gets
/// (vMotion's own switchover aims well under its 500 ms goal). Such a bought round never makes things
/// worse than QEMU's rule: if the round after it no longer fits (the bandwidth fell), it switches over
/// anyway, as QEMU would have one round earlier; and a round is only bought when the caps leave room
/// for it (not on the last allowed round, and only if twice the expected downtime fits the time left).
/// When the pages dirtied during a round
/// exceed `dirtyRatioThreshold` (50 %) of the pages sent in it on `roundsBeforeThrottle` (2)
/// consecutive rounds, throttle the workload (20 % first, then +10 %, at most 99 %), like QEMU's
/// auto-converge and vMotion's SDPS. Past `maxRounds` rounds or `maxTotalNanoseconds`, fail.
public struct ConvergencePolicy: Sendable, Equatable {
    /// The default share: a thousandth of the target, so 0.3 ms of QEMU's 300 ms. With it a
    /// migration keeps iterating while rounds halve the rest and stuns with a sub-millisecond rest
    /// where the workload allows one; a workload that never gets there still switches over within
    /// the target once rounds stop halving.
    public static let defaultSwitchoverShare = 0.001

    public var downtimeTargetNanoseconds: UInt64 = 300_000_000
    public var maxRounds = 30
    public var maxTotalNanoseconds: UInt64 = 100_000_000_000
    public var autoConverge = true
    public var dirtyRatioThreshold = 0.5
    public var roundsBeforeThrottle = 2
    public var throttleInitialPercent = 20
    public var throttleIncrementPercent = 10
    public var throttleMaxPercent = 99
    /// Switch over at once when the expected downtime is at most this share of the target; between it
    /// and the target, only once a round stops halving the expected downtime. 1 gives QEMU's rule.
    public var switchoverShare = ConvergencePolicy.defaultSwitchoverShare

    public init(downtimeTargetNanoseconds: UInt64 = 300_000_000, maxRounds: Int = 30,
                maxTotalNanoseconds: UInt64 = 100_000_000_000, autoConverge: Bool = true,
                switchoverShare: Double = ConvergencePolicy.defaultSwitchoverShare) {
        self.downtimeTargetNanoseconds = downtimeTargetNanoseconds
        self.maxRounds = maxRounds
        self.maxTotalNanoseconds = maxTotalNanoseconds
        self.autoConverge = autoConverge
        self.switchoverShare = switchoverShare
    }

    /// Expected downtime for `dirtyPages` at the measured bandwidth; `UInt64.max` if unknown.
    public static func expectedDowntime(dirtyPages: Int, pageSize: Int, bandwidthBytesPerSecond: Double?) -> UInt64 {
        if dirtyPages == 0 { return 0 }
        guard let bandwidth = bandwidthBytesPerSecond, bandwidth > 0 else { return .max }
        let seconds = Double(dirtyPages * pageSize) / bandwidth
        return seconds >= 1e9 ? .max : UInt64(seconds * 1e9)
    }

    /// Decides after a round and updates `state`.
    public func decide(after round: RoundObservation, state: inout ConvergenceState) -> ConvergenceDecision {
        if round.bytesSent > 0 {
            // A round that took no measurable time ran at least at 1 byte/ns.
            let duration = max(round.durationNanoseconds, 1)
            state.bandwidthBytesPerSecond = Double(round.bytesSent) * 1e9 / Double(duration)
        }
        let expected = Self.expectedDowntime(dirtyPages: round.dirtyPages, pageSize: round.pageSize,
                                             bandwidthBytesPerSecond: state.bandwidthBytesPerSecond)
        let previous = state.previousExpectedDowntimeNanoseconds
        state.previousExpectedDowntimeNanoseconds = expected
        if round.dirtyPages == 0 { return .switchover(expectedDowntimeNanoseconds: expected) }
        if expected <= downtimeTargetNanoseconds {
            // Fitting rounds are not the dirty-rate trouble auto-converge is for.
            state.highDirtyStreak = 0
            let quick = Double(expected) <= Double(downtimeTargetNanoseconds) * switchoverShare
            let stoppedHalving = previous.map { expected > $0 / 2 } ?? false
            let (twice, overflow) = expected.multipliedReportingOverflow(by: 2)
            let outOfRoom = round.round + 1 >= maxRounds || overflow
                || round.elapsedNanoseconds >= maxTotalNanoseconds
                || twice >= maxTotalNanoseconds - round.elapsedNanoseconds
            if quick || stoppedHalving || outOfRoom { return .switchover(expectedDowntimeNanoseconds: expected) }
            return .nextRound(expectedDowntimeNanoseconds: expected, throttlePercent: nil)
        }
        // The round before this one already fitted: switch over, as QEMU would have then.
        if let previous, previous <= downtimeTargetNanoseconds { return .switchover(expectedDowntimeNanoseconds: expected) }
        if round.round >= maxRounds {
            return .fail(reason: "did not converge in \(maxRounds) rounds (\(round.dirtyPages) pages still dirty, expected downtime \(Self.milliseconds(expected)) ms over the target of \(Self.milliseconds(downtimeTargetNanoseconds)) ms)")
        }
        if round.elapsedNanoseconds >= maxTotalNanoseconds {
            return .fail(reason: "did not converge within the total-time limit of \(Self.milliseconds(maxTotalNanoseconds)) ms (\(round.round) rounds, \(round.dirtyPages) pages still dirty)")
        }
        var newThrottle: Int?
        if autoConverge {
            if Double(round.dirtyPages) > dirtyRatioThreshold * Double(round.pagesSent) {
                state.highDirtyStreak += 1
            } else {
                state.highDirtyStreak = 0
            }
            if state.highDirtyStreak >= roundsBeforeThrottle {
                state.highDirtyStreak = 0
                let next = state.throttlePercent == 0
                    ? throttleInitialPercent
                    : min(state.throttlePercent + throttleIncrementPercent, throttleMaxPercent)
                if next != state.throttlePercent {
                    state.throttlePercent = next
                    newThrottle = next
                }
            }
        }
        return .nextRound(expectedDowntimeNanoseconds: expected, throttlePercent: newThrottle)
    }

    static func milliseconds(_ nanoseconds: UInt64) -> String {
        nanoseconds == .max ? "unknown" : String(Double(nanoseconds / 1000) / 1000)
    }
}

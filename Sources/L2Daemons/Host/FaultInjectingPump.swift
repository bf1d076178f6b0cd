import L2Control
import L2Edge
import L2Migration
#if canImport(Glibc)
import Glibc
#endif

/// A pump whose output queue can be damaged on purpose: what `FaultInjectingPump` needs of the
/// pump it wraps.
protocol DamageablePump: MigrationPump {
    /// Flips one byte of what is sent next.
    mutating func corruptNextByte()
    /// Sends half of what is queued, then closes.
    mutating func truncateAndClose()
}

extension StreamPump: DamageablePump {}

/// What a `FaultInjectingPump` does besides damaging its stream: tell the driver's log and progress
/// record, and wait out a hold.
struct FaultHooks {
    /// A line for the host's log when the fault fires.
    var log: (String) -> Void
    /// Sets the migration's phase in its progress record (`held:<point>` during a hold: the
    /// coordinator and the fault matrix act on that prefix).
    var reportPhase: (String) -> Void
    /// Blocks for this many nanoseconds (the hold). Tests record it instead.
    var sleep: (UInt64) -> Void = { SystemClock.sleep(nanoseconds: $0) }
}

/// Fault injection for the reliability tests, in the manner of smoltcp's `FaultInjector`: wraps the
/// real pump, passes everything through, and watches the source driver's moments; once, at the
/// plan's point, it holds (stops reading and writing for `holdMs`, reporting the phase
/// `held:<point>`), corrupts one byte of what is sent next, or sends half of what is queued and
/// closes, reporting the connection closed as a real loss would be. The driver's loop knows nothing
/// of it: `SourceDriver` picks it, once, when the request carries a fault plan.
struct FaultInjectingPump<Base: DamageablePump>: MigrationPump {
    /// The wrapped pump.
    private(set) var base: Base
    /// The fault still to come; nil once it fired.
    private(set) var plan: FaultPlan?
    private let hooks: FaultHooks

    init(wrapping base: Base, plan: FaultPlan, hooks: FaultHooks) {
        self.base = base
        self.plan = plan
        self.hooks = hooks
    }

    var closed: Bool { base.closed }
    var hasPendingOutput: Bool { base.hasPendingOutput }
    var pendingOutputBytes: Int { base.pendingOutputBytes }
    var unacknowledgedBytes: Int { base.unacknowledgedBytes }

    mutating func enqueue(_ bytes: [UInt8]) { base.enqueue(bytes) }
    mutating func refill(_ fill: (inout [UInt8]) -> Void) { base.refill(fill) }
    mutating func turn(timeoutMilliseconds: Int32, received: (ArraySlice<UInt8>) -> Void) -> String? {
        base.turn(timeoutMilliseconds: timeoutMilliseconds, received: received)
    }
    var pollEntry: pollfd? { base.pollEntry }
    mutating func service(revents: Int16, received: (ArraySlice<UInt8>) -> Void) -> String? {
        base.service(revents: revents, received: received)
    }
    mutating func writeAvailable() { base.writeAvailable() }
    mutating func abort() { base.abort() }
    mutating func flushAndClose(milliseconds: Int) { base.flushAndClose(milliseconds: milliseconds) }

    /// Fires the plan, once, when `source` at `moment` has reached its point.
    mutating func observe(_ source: MigrationSource, at moment: SourceMoment) -> [PumpEvent] {
        guard let fault = plan, fault.point.isReached(by: source, at: moment, outputPending: base.hasPendingOutput) else {
            return []
        }
        plan = nil
        hooks.log("fault injection: \(fault.action.rawValue) at \(fault.point.rawValue)")
        switch fault.action {
        case .hold:
            hooks.reportPhase("held:\(fault.point.rawValue)")
            let (nanoseconds, overflow) = UInt64(max(fault.holdMs, 0)).multipliedReportingOverflow(by: 1_000_000)
            hooks.sleep(overflow ? .max : nanoseconds)
            return []
        case .corrupt:
            base.corruptNextByte()
            return []
        case .truncate:
            base.truncateAndClose()
            return [.closed("fault injection: truncated at \(fault.point.rawValue)")]
        }
    }
}

extension FaultPlan.Point {
    /// Bytes round 1 must have put on the wire before `round1` is reached.
    static let round1Bytes = 8 << 20

    /// Whether the source driver, at `moment` with `source` in this state and output still queued or
    /// not, is at this point.
    func isReached(by source: MigrationSource, at moment: SourceMoment, outputPending: Bool) -> Bool {
        switch (self, moment) {
        case (.round1, .turn): source.currentRound == 1 && source.transferredBytes > Self.round1Bytes
        case (.round2, .turn): source.currentRound >= 2 && source.phase == .precopy
        case (.stunned, .stunned): true
        case (.switchover, .turn): source.phase == .switchover && !outputPending
        default: false
        }
    }
}

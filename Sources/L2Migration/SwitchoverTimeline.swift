/// The moments of one switchover, from the policy's decision to the first announce, and the phases
/// between them: what the downtime was spent on.
///
/// Source moments are on the source's clock, destination moments (`switchoverArrivedAt`, `verifiedAt`,
/// `resumedAt`, `firstAnnounceAt`) on the destination's; the drivers pass CLOCK_REALTIME nanoseconds,
/// so on one machine they compare directly. The downtime phases (freeze … resume) run from
/// `freezeAt` to `resumedAt` back to back and add up to the downtime exactly.
public struct SwitchoverTimeline: Codable, Sendable, Equatable {
    /// The policy decided to switch over; the VM still runs (source).
    public var decidedAt: UInt64?
    /// The destination confirmed it can resume at once (switchover-ack; source).
    public var acknowledgedAt: UInt64?
    /// The freeze began: the downtime starts (source).
    public var freezeAt: UInt64?
    /// The vCPUs and the workload stopped (source).
    public var frozenAt: UInt64?
    /// The vCPU and device state was read (source).
    public var stateCapturedAt: UInt64?
    /// The last dirty page and the switchover message were encoded and queued (source).
    public var finalPagesAt: UInt64?
    /// The bytes that completed the switchover message arrived (destination).
    public var switchoverArrivedAt: UInt64?
    /// The destination's digest of every page matched the source's (destination).
    public var verifiedAt: UInt64?
    /// The VM runs on the destination: the downtime ends (destination).
    public var resumedAt: UInt64?
    /// The destination's `resumed` reached the source (source).
    public var resumedAckAt: UInt64?
    /// The destination sent the first announce frame (destination; from its host's record).
    public var firstAnnounceAt: UInt64?

    public init() {}

    /// One span of the switchover.
    public struct Phase: Codable, Sendable, Equatable {
        /// `switchover-ack`, `drain`, `freeze`, `state-capture`, `final-pages`, `transfer`,
        /// `verification`, `resume`, `acknowledgement`, `first-announce`.
        public var name: String
        public var milliseconds: Double
        /// True for the spans that make up the downtime.
        public var inDowntime: Bool

        public init(name: String, milliseconds: Double, inDowntime: Bool) {
            self.name = name
            self.milliseconds = milliseconds
            self.inDowntime = inDowntime
        }

        enum CodingKeys: String, CodingKey {
            case name = "phase", milliseconds = "ms", inDowntime = "downtime"
        }
    }

    /// The spans whose ends are both known, in order: before the freeze (VM running) the
    /// switchover-ack and the drain; the downtime's freeze, state capture, final pages, transfer,
    /// verification and resume; after the resume the acknowledgement and the first announce (both
    /// counted from the resume).
    public var phases: [Phase] {
        var spans: [Phase] = []
        func add(_ name: String, _ from: UInt64?, _ to: UInt64?, downtime: Bool) {
            guard let from, let to else { return }
            spans.append(Phase(name: name, milliseconds: Self.milliseconds(from, to), inDowntime: downtime))
        }
        add("switchover-ack", decidedAt, acknowledgedAt, downtime: false)
        add("drain", acknowledgedAt ?? decidedAt, freezeAt, downtime: false)
        add("freeze", freezeAt, frozenAt, downtime: true)
        add("state-capture", frozenAt, stateCapturedAt, downtime: true)
        add("final-pages", stateCapturedAt, finalPagesAt, downtime: true)
        add("transfer", finalPagesAt, switchoverArrivedAt, downtime: true)
        add("verification", switchoverArrivedAt, verifiedAt, downtime: true)
        add("resume", verifiedAt, resumedAt, downtime: true)
        add("acknowledgement", resumedAt, resumedAckAt, downtime: false)
        add("first-announce", resumedAt, firstAnnounceAt, downtime: false)
        return spans
    }

    /// Milliseconds from `from` to `to`; negative when the clocks of two machines disagree.
    static func milliseconds(_ from: UInt64, _ to: UInt64) -> Double {
        to >= from ? Double(to - from) / 1e6 : -Double(from - to) / 1e6
    }

    enum CodingKeys: String, CodingKey {
        case decidedAt = "decided-at-ns", acknowledgedAt = "acknowledged-at-ns", freezeAt = "freeze-at-ns"
        case frozenAt = "frozen-at-ns", stateCapturedAt = "state-captured-at-ns", finalPagesAt = "final-pages-at-ns"
        case switchoverArrivedAt = "switchover-arrived-at-ns", verifiedAt = "verified-at-ns", resumedAt = "resumed-at-ns"
        case resumedAckAt = "resumed-ack-at-ns", firstAnnounceAt = "first-announce-at-ns", phases
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        decidedAt = try c.decodeIfPresent(UInt64.self, forKey: .decidedAt)
        acknowledgedAt = try c.decodeIfPresent(UInt64.self, forKey: .acknowledgedAt)
        freezeAt = try c.decodeIfPresent(UInt64.self, forKey: .freezeAt)
        frozenAt = try c.decodeIfPresent(UInt64.self, forKey: .frozenAt)
        stateCapturedAt = try c.decodeIfPresent(UInt64.self, forKey: .stateCapturedAt)
        finalPagesAt = try c.decodeIfPresent(UInt64.self, forKey: .finalPagesAt)
        switchoverArrivedAt = try c.decodeIfPresent(UInt64.self, forKey: .switchoverArrivedAt)
        verifiedAt = try c.decodeIfPresent(UInt64.self, forKey: .verifiedAt)
        resumedAt = try c.decodeIfPresent(UInt64.self, forKey: .resumedAt)
        resumedAckAt = try c.decodeIfPresent(UInt64.self, forKey: .resumedAckAt)
        firstAnnounceAt = try c.decodeIfPresent(UInt64.self, forKey: .firstAnnounceAt)
    }

    /// The moments, then the derived `phases` (read back, the phases are recomputed from the moments).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(decidedAt, forKey: .decidedAt)
        try c.encodeIfPresent(acknowledgedAt, forKey: .acknowledgedAt)
        try c.encodeIfPresent(freezeAt, forKey: .freezeAt)
        try c.encodeIfPresent(frozenAt, forKey: .frozenAt)
        try c.encodeIfPresent(stateCapturedAt, forKey: .stateCapturedAt)
        try c.encodeIfPresent(finalPagesAt, forKey: .finalPagesAt)
        try c.encodeIfPresent(switchoverArrivedAt, forKey: .switchoverArrivedAt)
        try c.encodeIfPresent(verifiedAt, forKey: .verifiedAt)
        try c.encodeIfPresent(resumedAt, forKey: .resumedAt)
        try c.encodeIfPresent(resumedAckAt, forKey: .resumedAckAt)
        try c.encodeIfPresent(firstAnnounceAt, forKey: .firstAnnounceAt)
        try c.encode(phases, forKey: .phases)
    }
}

import L2Migration

/// What `l2motion migrate --json` prints: QEMU's `query-migrate` fields at the top level (from the
/// source), plus what the coordinator saw around them: preflight, announce frames, the switch's
/// relearn (matched to the destination's port and announces) and any station-move conflicts, and
/// which host runs the VM at the end.
public struct MigrationReport: Codable, Sendable {
    public var result: MigrationResult
    public var id: String
    public var vm: String
    public var source: String
    public var destination: String
    public var preflight: [String]
    /// Wall-clock ns of the stun (source) and the resume (destination).
    public var stunAt: UInt64?
    public var resumedAt: UInt64?
    /// Milliseconds after the resume at which each RARP went out.
    public var announce: [Double]
    /// Their frame numbers in the production capture.
    public var announceFrames: [UInt64]
    /// Switch event time of the MAC's move onto the destination's port minus the destination's
    /// resume time, in ms (`RelearnMatcher`: never the first move by someone else).
    public var relearnMs: Double?
    public var relearnFrame: UInt64?
    /// Whether the relearn was caused by one of the announces (false: by another frame, such as
    /// the VM's own traffic); nil when there was no relearn.
    public var relearnByAnnounce: Bool?
    /// The production switch's port of the destination's uplink, where the relearn is looked for.
    public var destinationPort: SwitchPortRef?
    /// Moves of the VM's MAC by other ports around the migration: someone else sent the VM's MAC.
    public var stationConflicts: [StationMove] = []
    /// The first move onto the destination's port the switch refused (its hold-down), if any.
    public var moveIgnored: StationMove?
    /// Milliseconds after the resume at which each suppressed announce was due (`--drop-announces`).
    public var announceDropped: [Double] = []
    /// Unsolicited Neighbor Advertisements the destination sent with the RARPs (`--announce-ipv6 na`);
    /// nil: none (or a destination that predates them).
    public var announceNAs: Int?
    /// False when the migration was told not to announce at all (`--announce none`).
    public var notifySwitches = true
    /// A lab across machines: the relearn on each machine's production switch, the destination's
    /// machine first (the fields above repeat that one).
    public var switchRelearns: [SwitchRelearn] = []
    /// Where the coordinator read the switch's events from, to measure the relearn again later
    /// (the demo does at its end); not part of the JSON.
    var relearnSource: RelearnSource?
    /// Wall-clock ns at which the source sent the commit (it proves its frozen memory first).
    public var committedAt: UInt64?
    public var runsOn: String?
    public var outcome: String

    enum Keys: String, CodingKey {
        case id, vm, source, destination, preflight, announce, outcome
        case stunAt = "stun-at-ns"
        case resumedAt = "resumed-at-ns"
        case announceFrames = "announce-frames"
        case relearnMs = "relearn-ms"
        case relearnFrame = "relearn-frame"
        case relearnByAnnounce = "relearn-by-announce"
        case destinationPort = "destination-port"
        case stationConflicts = "station-conflicts"
        case moveIgnored = "move-ignored"
        case announceDropped = "announce-dropped"
        case announceNAs = "announce-nas"
        case notifySwitches = "notify-switches"
        case committedAt = "committed-at-ns"
        case runsOn = "runs-on"
        case switchRelearns = "switch-relearns"
    }

    public init(result: MigrationResult, id: String, vm: String, source: String, destination: String, preflight: [String],
                outcome: String) {
        self.result = result
        self.id = id
        self.vm = vm
        self.source = source
        self.destination = destination
        self.preflight = preflight
        self.outcome = outcome
        announce = []
        announceFrames = []
    }

    public func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(id, forKey: .id)
        try container.encode(vm, forKey: .vm)
        try container.encode(source, forKey: .source)
        try container.encode(destination, forKey: .destination)
        try container.encode(preflight, forKey: .preflight)
        try container.encodeIfPresent(stunAt, forKey: .stunAt)
        try container.encodeIfPresent(resumedAt, forKey: .resumedAt)
        try container.encode(announce, forKey: .announce)
        try container.encode(announceFrames, forKey: .announceFrames)
        try container.encodeIfPresent(relearnMs, forKey: .relearnMs)
        try container.encodeIfPresent(relearnFrame, forKey: .relearnFrame)
        try container.encodeIfPresent(relearnByAnnounce, forKey: .relearnByAnnounce)
        try container.encodeIfPresent(destinationPort, forKey: .destinationPort)
        if !stationConflicts.isEmpty { try container.encode(stationConflicts, forKey: .stationConflicts) }
        try container.encodeIfPresent(moveIgnored, forKey: .moveIgnored)
        if !announceDropped.isEmpty { try container.encode(announceDropped, forKey: .announceDropped) }
        try container.encodeIfPresent(announceNAs, forKey: .announceNAs)
        if !notifySwitches { try container.encode(notifySwitches, forKey: .notifySwitches) }
        try container.encodeIfPresent(committedAt, forKey: .committedAt)
        try container.encodeIfPresent(runsOn, forKey: .runsOn)
        if !switchRelearns.isEmpty { try container.encode(switchRelearns, forKey: .switchRelearns) }
        try container.encode(outcome, forKey: .outcome)
    }

    public init(from decoder: any Decoder) throws {
        result = try MigrationResult(from: decoder)
        let container = try decoder.container(keyedBy: Keys.self)
        id = try container.decode(String.self, forKey: .id)
        vm = try container.decode(String.self, forKey: .vm)
        source = try container.decode(String.self, forKey: .source)
        destination = try container.decode(String.self, forKey: .destination)
        preflight = try container.decode([String].self, forKey: .preflight)
        stunAt = try container.decodeIfPresent(UInt64.self, forKey: .stunAt)
        resumedAt = try container.decodeIfPresent(UInt64.self, forKey: .resumedAt)
        announce = try container.decode([Double].self, forKey: .announce)
        announceFrames = try container.decode([UInt64].self, forKey: .announceFrames)
        relearnMs = try container.decodeIfPresent(Double.self, forKey: .relearnMs)
        relearnFrame = try container.decodeIfPresent(UInt64.self, forKey: .relearnFrame)
        relearnByAnnounce = try container.decodeIfPresent(Bool.self, forKey: .relearnByAnnounce)
        destinationPort = try container.decodeIfPresent(SwitchPortRef.self, forKey: .destinationPort)
        stationConflicts = try container.decodeIfPresent([StationMove].self, forKey: .stationConflicts) ?? []
        moveIgnored = try container.decodeIfPresent(StationMove.self, forKey: .moveIgnored)
        announceDropped = try container.decodeIfPresent([Double].self, forKey: .announceDropped) ?? []
        announceNAs = try container.decodeIfPresent(Int.self, forKey: .announceNAs)
        notifySwitches = try container.decodeIfPresent(Bool.self, forKey: .notifySwitches) ?? true
        committedAt = try container.decodeIfPresent(UInt64.self, forKey: .committedAt)
        runsOn = try container.decodeIfPresent(String.self, forKey: .runsOn)
        switchRelearns = try container.decodeIfPresent([SwitchRelearn].self, forKey: .switchRelearns) ?? []
        outcome = try container.decode(String.self, forKey: .outcome)
    }
}

import L2Migration

/// Where one migration stands on one host, as `migration-status` reports it (the JSON strings are
/// the raw values).
public enum MigrationProgressStatus: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// Connecting, negotiating: nothing of the VM has moved.
    case setup
    /// Pre-copy or the switchover is under way.
    case active
    /// Destination: the VM runs here; the source has not yet confirmed the commit.
    case resumed
    case completed
    /// The migration failed; the VM runs on the source.
    case failed
    case cancelled
    /// The host could not see how the switchover ended and waits for the coordinator's decision.
    case awaitingCoordinator = "awaiting-coordinator"
    /// Destination: it dropped what it received; it will never run the VM.
    case discarded
    /// Coordinator side: the source stopped answering before it reported an end.
    case sourceLost = "source-lost"
    /// Post-copy: the VM runs on the destination while the pages it lacks still come from the source.
    case postcopyActive = "postcopy-active"
    /// Post-copy: the link failed after the switchover; the VM is paused on the destination and the
    /// source keeps its memory until `migrate --recover` (or, if the source is gone, the VM is lost).
    case postcopyPaused = "postcopy-paused"
    /// Post-copy: the source is gone during post-copy; the destination stopped the VM. The VM is lost.
    case vmLost = "vm-lost"

    /// No further change comes without the coordinator.
    public var isFinished: Bool { [.completed, .failed, .cancelled, .discarded, .awaitingCoordinator, .postcopyPaused, .vmLost].contains(self) }

    public var description: String { rawValue }
}

/// One migration as a host sees it, for `migration-status` and the coordinator's report.
public struct MigrationProgress: Codable, Sendable {
    public enum Role: String, Codable, Sendable { case source, destination }

    public var id: String
    public var role: Role
    public var vm: String
    public var status: MigrationProgressStatus
    public var phase: String
    public var round: Int
    public var transferred: Int
    public var remaining: Int
    public var total: Int
    public var mbps: Double
    public var throttle: Int
    /// Where the VM runs now from this host's point of view: true if it runs (or is stunned) here.
    public var vmHere: Bool
    public var vmRunningHere: Bool
    /// Source: wall-clock ns of the stun. Destination: of the resume and of each announce frame.
    public var stunAt: UInt64?
    public var resumedAt: UInt64?
    public var announces: [UInt64]
    /// Destination: wall-clock ns at which each announce a fault suppressed was due (nil: none was).
    public var droppedAnnounces: [UInt64]?
    /// Destination: unsolicited Neighbor Advertisements sent with the announces (nil: none, or an older host).
    public var neighborAdvertisements: Int?
    /// Source: wall-clock ns when the commit went to the stream (after the frozen memory was proved).
    public var committedAt: UInt64?
    public var result: MigrationResult?
    public var destination: DestinationReport?
    public var error: String?

    public init(id: String, role: Role, vm: String) {
        self.id = id
        self.role = role
        self.vm = vm
        status = .setup
        phase = "setup"
        round = 0
        transferred = 0
        remaining = 0
        total = 0
        mbps = 0
        throttle = 0
        vmHere = role == .source
        vmRunningHere = role == .source
        announces = []
    }

    enum CodingKeys: String, CodingKey {
        case id, role, vm, status, phase, round, transferred, remaining, total, mbps, throttle, result, destination, error, announces
        case vmHere = "vm-here"
        case vmRunningHere = "vm-running-here"
        case stunAt = "stun-at"
        case resumedAt = "resumed-at"
        case committedAt = "committed-at"
        case droppedAnnounces = "dropped-announces"
        case neighborAdvertisements = "neighbor-advertisements"
    }

    public var isFinished: Bool { status.isFinished }
}

/// A deliberate fault at a precise point of a migration, for the fault matrix. At `point` the source
/// either holds (stops reading and writing for `holdMs`, reporting phase `held:<point>`, so a test can
/// kill a host or cut the link at exactly that moment) or damages its own stream.
public struct FaultPlan: Codable, Sendable, Equatable {
    public enum Point: String, Codable, Sendable, CaseIterable {
        /// During round 1, once a few MiB have been sent.
        case round1
        /// At the start of the second round.
        case round2
        /// The VM is stunned; the final state has not been sent.
        case stunned
        /// The switchover message has been written; the destination's answer has not been read.
        case switchover
    }

    public enum Action: String, Codable, Sendable, CaseIterable {
        case hold
        /// Flip one byte in the middle of what is sent next.
        case corrupt
        /// Send half of what is queued, then close the connection.
        case truncate
    }

    public var point: Point
    public var action: Action
    public var holdMs: Int

    public init(point: Point, action: Action, holdMs: Int = 3000) {
        self.point = point
        self.action = action
        self.holdMs = holdMs
    }
}

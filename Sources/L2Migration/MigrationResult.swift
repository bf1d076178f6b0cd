/// A migration's outcome, as QEMU's `query-migrate` would report it.
public enum MigrationStatus: String, Codable, Sendable, Equatable {
    case setup
    case active
    /// The VM is stunned and its last state is on the way.
    case device
    case completed
    case failed
    case cancelled
    /// The link died between the switchover and the destination's "resumed": the coordinator decides.
    case awaitingCoordinator = "awaiting-coordinator"
    /// Post-copy: the VM runs on the destination while pages it lacks still come from the source.
    case postcopyActive = "postcopy-active"
    /// Post-copy: the link failed; the VM is paused on the destination until the migration recovers.
    case postcopyPaused = "postcopy-paused"
}

/// One pre-copy round's figures (the last one is the stop-and-copy round sent during the stun).
public struct RoundStats: Codable, Sendable, Equatable {
    public var round: Int
    /// Page records sent (zero and normal).
    public var pages: Int
    public var zeroPages: Int
    /// Bytes sent, protocol overhead included.
    public var bytes: Int
    public var durationMs: Double
    public var mbps: Double
    /// Pages the guest dirtied while the round was sent.
    public var dirtiedDuring: Int
    /// When the round started: the `now` the source was given (wall-clock ns in a real migration).
    public var startedAt: UInt64?
    /// Bytes each lane carried in this round, lane 0 first (only when the migration used several lanes).
    public var laneBytes: [Int]?

    enum CodingKeys: String, CodingKey {
        case round, pages, bytes, mbps
        case zeroPages = "zero-pages"
        case durationMs = "duration-ms"
        case dirtiedDuring = "dirtied-during"
        case startedAt = "started-at-ns"
        case laneBytes = "lane-bytes"
    }

    public init(round: Int, pages: Int, zeroPages: Int, bytes: Int, durationMs: Double, mbps: Double,
                dirtiedDuring: Int, startedAt: UInt64? = nil) {
        self.round = round
        self.pages = pages
        self.zeroPages = zeroPages
        self.bytes = bytes
        self.durationMs = durationMs
        self.mbps = mbps
        self.dirtiedDuring = dirtiedDuring
        self.startedAt = startedAt
    }
}

/// RAM figures with QEMU's names and units (bytes, pages, pages/s, Mbit/s).
public struct RAMStats: Codable, Sendable, Equatable {
    /// Bytes put on the wire, protocol overhead included.
    public var transferred: Int = 0
    /// Bytes of pages still dirty (not yet sent again).
    public var remaining: Int = 0
    /// The VM's memory size in bytes.
    public var total: Int = 0
    /// Zero pages sent as a 9-byte record.
    public var duplicate: Int = 0
    /// Pages sent with their contents.
    public var normal: Int = 0
    public var normalBytes: Int = 0
    /// Pages dirtied per second during the last round.
    public var dirtyPagesRate: Double = 0
    /// Dirty-bitmap syncs: rounds sent, the final one included.
    public var dirtySyncCount: Int = 0
    /// Mean rate of the pre-copy phase (transferred bytes before the stun / pre-copy time).
    public var mbps: Double = 0
    public var pagesPerSecond: Double = 0
    public var pageSize: Int = 4096
    /// Bytes sent before the stun.
    public var precopyBytes: Int = 0
    /// Bytes sent while the VM was stunned (last pages, state, queued frames).
    public var downtimeBytes: Int = 0

    enum CodingKeys: String, CodingKey {
        case transferred, remaining, total, duplicate, normal, mbps
        case normalBytes = "normal-bytes"
        case dirtyPagesRate = "dirty-pages-rate"
        case dirtySyncCount = "dirty-sync-count"
        case pagesPerSecond = "pages-per-second"
        case pageSize = "page-size"
        case precopyBytes = "precopy-bytes"
        case downtimeBytes = "downtime-bytes"
    }

    public init() {}
}

/// The source's report of a migration, Codable to JSON with QEMU `query-migrate` names and units
/// (times in milliseconds).
///
/// `downtime` runs from the source's `.stun` action to the destination's resume time carried in its
/// `resumed` message. It is only meaningful when both drivers pass `now` from the same wall clock
/// (CLOCK_REALTIME ns on one machine); `stun-to-resumed-ack` uses the source's clock only and is an
/// upper bound (it includes the trip of the `resumed` message back).
public struct MigrationResult: Codable, Sendable, Equatable {
    public var status: MigrationStatus
    public var totalTime: Double
    public var setupTime: Double?
    public var downtime: Double?
    public var expectedDowntime: Double?
    public var stunToResumedAck: Double?
    public var ram: RAMStats
    public var cpuThrottlePercentage: Int
    public var rounds: [RoundStats]
    /// True when the destination proved its copy equal to what was sent and the source proved its frozen
    /// memory equal to what was sent.
    public var verified: Bool
    /// The stream's protection as negotiated (`"aes-256-gcm"` or `"none"`); nil before the destination answered.
    public var encryption: MigrationStreamCipher?
    public var error: String?
    /// The moments behind `setup-time` and `total-time`, as the `now` the source was given (wall-clock
    /// ns in a real migration): the start (hello sent), the end of setup (pre-copy and round 1 start)
    /// and the end (commit sent, or the failure).
    public var startedAt: UInt64?
    public var precopyStartedAt: UInt64?
    public var endedAt: UInt64?
    /// The switchover's moments and phases (nil before the policy chose to switch over).
    public var switchover: SwitchoverTimeline?
    /// What the destination checked when it confirmed it could resume at once (switchover-ack).
    public var switchoverAck: String?
    /// Each lane's bytes and rate (one entry with a single stream).
    public var lanes: [LaneStats]?
    /// How the memory moved (`MigrationMode`); nil in reports from before post-copy (pre-copy).
    public var mode: MigrationMode?
    /// Post-copy's figures (QEMU's names where it has them); nil for pre-copy.
    public var postcopy: PostcopyStats?

    enum CodingKeys: String, CodingKey {
        case status, downtime, ram, rounds, verified, encryption, error, switchover
        case switchoverAck = "switchover-ack"
        case totalTime = "total-time"
        case setupTime = "setup-time"
        case expectedDowntime = "expected-downtime"
        case stunToResumedAck = "stun-to-resumed-ack"
        case cpuThrottlePercentage = "cpu-throttle-percentage"
        case startedAt = "started-at-ns"
        case precopyStartedAt = "precopy-started-at-ns"
        case endedAt = "ended-at-ns"
        case lanes, mode, postcopy
    }

    public init(status: MigrationStatus, totalTime: Double, setupTime: Double? = nil, downtime: Double? = nil,
                expectedDowntime: Double? = nil, stunToResumedAck: Double? = nil, ram: RAMStats = RAMStats(),
                cpuThrottlePercentage: Int = 0, rounds: [RoundStats] = [], verified: Bool = false,
                encryption: MigrationStreamCipher? = nil, error: String? = nil) {
        self.status = status
        self.totalTime = totalTime
        self.setupTime = setupTime
        self.downtime = downtime
        self.expectedDowntime = expectedDowntime
        self.stunToResumedAck = stunToResumedAck
        self.ram = ram
        self.cpuThrottlePercentage = cpuThrottlePercentage
        self.rounds = rounds
        self.verified = verified
        self.encryption = encryption
        self.error = error
    }
}

@inline(__always) func milliseconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e6 }

@inline(__always) func elapsed(_ from: UInt64, _ to: UInt64) -> UInt64 { to >= from ? to - from : 0 }

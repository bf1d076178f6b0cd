import L2Migration
import L2Wire

/// What the coordinator tells a destination with `migrate-prepare`: which migration to accept, with
/// which secret, and how to announce the VM once it runs there.
public struct MigratePrepareArguments: Codable, Sendable, Equatable {
    public var id: MigrationID
    public var secret: MigrationSecret
    public var vm: String
    public var datastore: String
    /// Also send a gratuitous ARP with the first RARP.
    public var garp: Bool
    /// When each RARP goes out, in ms after the resume (QEMU's 0, 50, 200, 450, 800 by default);
    /// empty: Notify Switches off, no announce at all.
    public var announceMs: [Int]
    public var encryption: MigrationEncryptionMode
    /// Lanes the source may open (1...16): lane hellos for higher lanes are refused.
    public var streams: Int
    /// Fault injection: the first N scheduled announces are suppressed (and recorded as dropped).
    public var dropAnnounces: Int
    /// Pre-copy, post-copy or hybrid: a destination prepared for pre-copy refuses post-copy.
    public var mode: MigrationMode = .precopy
    /// Unsolicited Neighbor Advertisements with each RARP (`IPv6AnnounceMode`). Optional on the wire:
    /// a coordinator that predates it sends none, and the destination then uses the default, `na`,
    /// the same as today's CLI without `--announce-ipv6` (a host that predates it ignores the key).
    public var announceIPv6: IPv6AnnounceMode = .na

    public init(id: MigrationID, secret: MigrationSecret, vm: String, datastore: String, garp: Bool = false,
                announceMs: [Int] = [0, 50, 200, 450, 800], encryption: MigrationEncryptionMode = .opportunistic,
                streams: Int = 1, dropAnnounces: Int = 0, mode: MigrationMode = .precopy, announceIPv6: IPv6AnnounceMode = .na) {
        self.id = id
        self.secret = secret
        self.vm = vm
        self.datastore = datastore
        self.garp = garp
        self.announceMs = announceMs
        self.encryption = encryption
        self.streams = streams
        self.dropAnnounces = dropAnnounces
        self.mode = mode
        self.announceIPv6 = announceIPv6
    }

    /// Every range check; the decoder runs it too, so a daemon never holds an unchecked value.
    public func validate() throws(ConfigurationError) {
        try Self.checkAnnounce(announceMs, drop: dropAnnounces, garp: garp)
        try Limits.streams.named("streams").check(streams)
        try MigrateSendArguments.checkMode(mode, streams: streams)
    }

    /// An announce schedule (each time 0...60000 ms; none at all is Notify Switches off), how many of
    /// its announces a fault drops (at most all of them), and a gratuitous ARP only with a RARP to
    /// go with.
    public static func checkAnnounce(_ announceMs: [Int], drop: Int = 0, garp: Bool = false) throws(ConfigurationError) {
        for value in announceMs { try Limits.announceMs.check(value) }
        try Limits.dropAnnounces.check(drop)
        guard drop <= announceMs.count else {
            throw ConfigurationError(announceMs.isEmpty
                ? "\(Limits.dropAnnounces.name) \(drop) has nothing to drop: \(Limits.announceMs.name) none sends no announce"
                : "\(Limits.dropAnnounces.name) \(drop) is more than the \(announceMs.count) announces of \(Limits.announceMs.name) \(announceMs.map(String.init).joined(separator: ","))")
        }
        guard !(garp && announceMs.isEmpty) else {
            throw ConfigurationError("--garp goes out with the first RARP, and \(Limits.announceMs.name) none sends none; drop one of them")
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, secret, vm, datastore, garp, encryption, streams, mode
        case announceMs = "announce-ms"
        case dropAnnounces = "drop-announces"
        case announceIPv6 = "announce-ipv6"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try container.decode(MigrationID.self, forKey: .id), secret: try container.decode(MigrationSecret.self, forKey: .secret),
                  vm: try container.decode(String.self, forKey: .vm), datastore: try container.decode(String.self, forKey: .datastore),
                  garp: try container.decode(Bool.self, forKey: .garp), announceMs: try container.decode([Int].self, forKey: .announceMs),
                  encryption: try container.decode(MigrationEncryptionMode.self, forKey: .encryption),
                  streams: try container.decodeIfPresent(Int.self, forKey: .streams) ?? 1,
                  dropAnnounces: try container.decodeIfPresent(Int.self, forKey: .dropAnnounces) ?? 0,
                  mode: try container.decodeIfPresent(MigrationMode.self, forKey: .mode) ?? .precopy,
                  announceIPv6: try container.decodeIfPresent(IPv6AnnounceMode.self, forKey: .announceIPv6) ?? .na)
        try validate()
    }
}

/// What the coordinator tells the source with `migrate-send`: where to send the VM and how to
/// converge. Every number is range-checked (`validate`), by the CLI before anything is sent and by the
/// decoder on the host, so no conversion on the host can trap.
public struct MigrateSendArguments: Codable, Sendable, Equatable {
    public var vm: String
    public var id: MigrationID
    public var secret: MigrationSecret
    /// The destination's vMotion address and listener port.
    public var destination: IPv4Address
    public var port: UInt16
    public var downtimeMs: Double
    public var switchoverShare: Double
    public var maxRounds: Int
    public var maxSeconds: Double
    public var autoConverge: Bool
    /// How long the source forwards frames that still reach it after the switchover; 0 forwards
    /// nothing, not even the frames that reached it during the stun (ESXi forwards nothing).
    public var graceMs: Double
    /// Seconds without progress on the stream before the source gives up on it.
    public var stallSeconds: Double
    public var encryption: MigrationEncryptionMode
    /// Fault injection for the reliability tests (nil: none).
    public var fault: FaultPlan?
    /// TCP connections carrying the pages (1...16; 1: one stream, as before).
    public var streams: Int
    /// Multi-NIC vMotion: lane k goes over path k mod the count (path 0 is vmk1 to `destination`);
    /// empty: every lane goes from vmk1 to `destination`.
    public var paths: [VMotionPath]
    /// Pre-copy, post-copy or hybrid (`MigrationMode`).
    public var mode: MigrationMode = .precopy

    public init(vm: String, id: MigrationID, secret: MigrationSecret, destination: IPv4Address, port: UInt16 = 8000,
                downtimeMs: Double = 300, switchoverShare: Double = ConvergencePolicy.defaultSwitchoverShare, maxRounds: Int = 30, maxSeconds: Double = 100,
                autoConverge: Bool = true, graceMs: Double = 2000, stallSeconds: Double = 5,
                encryption: MigrationEncryptionMode = .opportunistic, fault: FaultPlan? = nil, streams: Int = 1,
                paths: [VMotionPath] = [], mode: MigrationMode = .precopy) {
        self.vm = vm
        self.id = id
        self.secret = secret
        self.destination = destination
        self.port = port
        self.downtimeMs = downtimeMs
        self.switchoverShare = switchoverShare
        self.maxRounds = maxRounds
        self.maxSeconds = maxSeconds
        self.autoConverge = autoConverge
        self.graceMs = graceMs
        self.stallSeconds = stallSeconds
        self.encryption = encryption
        self.fault = fault
        self.streams = streams
        self.paths = paths
        self.mode = mode
    }

    /// Post-copy and hybrid run over one stream: its requests must not wait behind other lanes.
    public static func checkMode(_ mode: MigrationMode, streams: Int) throws(ConfigurationError) {
        guard mode == .precopy || streams == 1 else {
            throw ConfigurationError("--mode \(mode.rawValue) runs over one stream; drop --streams \(streams) (pre-copy takes several)")
        }
    }

    public func validate() throws(ConfigurationError) {
        try Self.checkTuning(downtimeMs: downtimeMs, switchoverShare: switchoverShare, maxRounds: maxRounds, maxSeconds: maxSeconds,
                             graceMs: graceMs, stallSeconds: stallSeconds, fault: fault)
        try Limits.migrationPort.check(Int(port))
        try Limits.streams.check(streams)
        guard paths.count <= MigrationWire.maxLanes else {
            throw ConfigurationError("paths lists \(paths.count) vMotion paths; at most \(MigrationWire.maxLanes)")
        }
        for path in paths where path.interface.isEmpty || path.interface.utf8.count > 15 {
            throw ConfigurationError("paths: \"\(path.interface)\" is not an interface name (1 to 15 bytes)")
        }
        try Self.checkMode(mode, streams: streams)
    }

    /// The checks of every tuning number a user can set, shared with the CLI's options.
    public static func checkTuning(downtimeMs: Double, switchoverShare: Double, maxRounds: Int, maxSeconds: Double,
                                   graceMs: Double, stallSeconds: Double, fault: FaultPlan?) throws(ConfigurationError) {
        try Limits.downtime.check(downtimeMs)
        try Limits.switchoverShare.check(switchoverShare)
        try Limits.maxRounds.check(maxRounds)
        try Limits.maxSeconds.check(maxSeconds)
        try Limits.graceMs.check(graceMs)
        try Limits.stallSeconds.check(stallSeconds)
        if let fault { try Limits.holdMs.check(fault.holdMs) }
    }

    enum CodingKeys: String, CodingKey {
        case vm, id, secret, destination, port, encryption, fault, streams, paths, mode
        case downtimeMs = "downtime-ms"
        case switchoverShare = "switchover-share"
        case maxRounds = "max-rounds"
        case maxSeconds = "max-seconds"
        case autoConverge = "auto-converge"
        case graceMs = "grace-ms"
        case stallSeconds = "stall-seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(vm: try c.decode(String.self, forKey: .vm), id: try c.decode(MigrationID.self, forKey: .id),
                  secret: try c.decode(MigrationSecret.self, forKey: .secret),
                  destination: try c.decode(IPv4Address.self, forKey: .destination), port: try c.decode(UInt16.self, forKey: .port),
                  downtimeMs: try c.decode(Double.self, forKey: .downtimeMs),
                  switchoverShare: try c.decode(Double.self, forKey: .switchoverShare),
                  maxRounds: try c.decode(Int.self, forKey: .maxRounds), maxSeconds: try c.decode(Double.self, forKey: .maxSeconds),
                  autoConverge: try c.decode(Bool.self, forKey: .autoConverge), graceMs: try c.decode(Double.self, forKey: .graceMs),
                  stallSeconds: try c.decode(Double.self, forKey: .stallSeconds),
                  encryption: try c.decode(MigrationEncryptionMode.self, forKey: .encryption),
                  fault: try c.decodeIfPresent(FaultPlan.self, forKey: .fault),
                  streams: try c.decodeIfPresent(Int.self, forKey: .streams) ?? 1,
                  paths: try c.decodeIfPresent([VMotionPath].self, forKey: .paths) ?? [],
                  mode: try c.decodeIfPresent(MigrationMode.self, forKey: .mode) ?? .precopy)
        try validate()
    }
}

/// The coordinator's decision for a migration whose end a host could not see.
public enum ResolveDecision: String, Codable, Sendable, CaseIterable {
    /// Source: resume the VM here (the destination was fenced and never ran it).
    case resume
    /// Source: drop the stunned copy (the destination runs the VM).
    case release
    /// Destination: keep running the VM (it is the only copy).
    case keep
    /// Destination: drop what was received (the source keeps the VM).
    case discard
}

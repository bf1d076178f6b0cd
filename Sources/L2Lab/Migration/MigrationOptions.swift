import L2Control
import L2Migration

/// What a user may tune about one migration. Every number is checked by `validate()` (the limits of
/// `Limits`), before any host hears of the migration.
public struct MigrationOptions: Sendable {
    public var downtimeMs: Double = 300
    /// See `ConvergencePolicy.switchoverShare` (1: QEMU's rule).
    public var switchoverShare: Double = ConvergencePolicy.defaultSwitchoverShare
    public var maxRounds: Int = 30
    public var maxSeconds: Double = 100
    public var autoConverge = true
    public var garp = false
    /// When each RARP goes out after the resume; empty: Notify Switches off (`--announce none`).
    public var announceMs: [Int] = [0, 50, 200, 450, 800]
    /// Fault: the destination suppresses its first N scheduled announces (`--drop-announces`).
    public var dropAnnounces = 0
    /// Unsolicited Neighbor Advertisements with each RARP (`--announce-ipv6 na|none`, default na).
    public var announceIPv6 = IPv6AnnounceMode.na
    /// Go without the MTU preflight (`--skip-mtu-check`).
    public var skipMTUCheck = false
    public var graceMs: Double = 2000
    /// The production switch whose capture and events show the relearn.
    public var productionSwitch = "pswitch"
    /// Fault injection for reliability tests: where the source holds or damages its stream.
    public var fault: FaultPlan?
    /// Seconds without progress on the stream before the source gives up on it.
    public var stallSeconds: Double = 5
    /// Encrypted vMotion for both hosts: disabled, opportunistic (the default) or required.
    public var encryption = MigrationEncryptionMode.opportunistic
    /// TCP connections carrying the pages (1...16); with Multi-NIC vMotion they alternate over the NICs.
    public var streams = 1
    /// Refuse the migration when the destination's port group of the VM's label is on another VLAN
    /// (without it, the preflight only warns).
    public var strictVLAN = false
    /// Pre-copy (default), post-copy, or hybrid (pre-copy while rounds converge, then post-copy).
    public var mode = MigrationMode.precopy
    /// Called once the source reports it is holding at the fault point (the test applies its fault then).
    public var onHold: (@Sendable (MigrationProgress) -> Void)?
    public init() {}

    /// Every range check, with the option's name in the message.
    public func validate() throws(ConfigurationError) {
        try MigrateSendArguments.checkTuning(downtimeMs: downtimeMs, switchoverShare: switchoverShare, maxRounds: maxRounds,
                                             maxSeconds: maxSeconds, graceMs: graceMs, stallSeconds: stallSeconds, fault: fault)
        try MigratePrepareArguments.checkAnnounce(announceMs, drop: dropAnnounces, garp: garp)
        try Limits.streams.check(streams)
        try MigrateSendArguments.checkMode(mode, streams: streams)
    }
}

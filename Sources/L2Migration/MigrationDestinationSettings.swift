import L2Guest

/// What a destination host accepts, from the coordinator (id, secret: the per-migration key) and the
/// host (limits, labels, encryption mode).
public struct MigrationDestinationSettings: Sendable {
    public var migrationID: MigrationID
    public var secret: MigrationSecret
    /// This host's encryption mode; with the source's it decides the stream cipher.
    public var encryption: MigrationEncryptionMode
    /// The most memory a VM may ask for on this host.
    public var maxMemoryBytes: UInt64
    /// The host's port group labels; the VM's must be among them exactly, case included.
    public var portGroups: Set<String>
    /// The datastores this host mounts; nil leaves the check to the coordinator.
    public var datastores: Set<String>?
    /// Silence from the source longer than this before the VM resumes discards the migration.
    public var idleTimeoutNanoseconds: UInt64
    /// Lanes the source may use, lane 0 included (from the coordinator): a lane hello for lane
    /// `lanes` or above is refused. With more than one, round markers wait for the other lanes' pages.
    public var lanes: Int = 1 {
        didSet { lanes = max(1, min(lanes, MigrationWire.maxLanes)) }
    }
    /// Whether the coordinator prepared this host for post-copy (`--mode postcopy|hybrid`): a
    /// `postcopyStart` otherwise is refused before anything resumes.
    public var acceptsPostcopy = false
    /// Post-copy: silence from the source this long while pages are still missing means the link is
    /// gone (a cut link sends no reset): the VM pauses until the migration recovers.
    public var postcopyIdleNanoseconds: UInt64 = 3_000_000_000

    public init(migrationID: MigrationID, secret: MigrationSecret, encryption: MigrationEncryptionMode = .opportunistic,
                maxMemoryBytes: UInt64, portGroups: Set<String>, datastores: Set<String>? = nil,
                idleTimeoutNanoseconds: UInt64 = 10_000_000_000) {
        self.migrationID = migrationID
        self.secret = secret
        self.encryption = encryption
        self.maxMemoryBytes = maxMemoryBytes
        self.portGroups = portGroups
        self.datastores = datastores
        self.idleTimeoutNanoseconds = idleTimeoutNanoseconds
    }
}

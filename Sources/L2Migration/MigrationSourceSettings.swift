/// Knobs of a migration source. The coordinator provides `migrationID` and `secret` (the per-migration key).
public struct MigrationSourceSettings: Sendable {
    public var migrationID: MigrationID
    public var secret: MigrationSecret
    /// Whether the stream is encrypted (stated in `hello`; the destination chooses).
    public var encryption: MigrationEncryptionMode
    public var convergence: ConvergencePolicy
    /// From `start` to the destination's spec answer.
    public var setupTimeoutNanoseconds: UInt64
    /// From the switchover message to the destination's `resumed`; on expiry the coordinator decides.
    public var switchoverTimeoutNanoseconds: UInt64
    /// Page records per page-batch message.
    public var pagesPerBatch: Int
    /// Re-hash the frozen source memory when `resumed` arrives, before committing (memory speed, after
    /// the downtime). Turn off to run `verifySourceFrozenMemory()` elsewhere.
    public var verifyFrozenMemoryBeforeCommit: Bool
    /// How long after `resumed` `forwardFrame` still forwards frames.
    public var forwardGraceNanoseconds: UInt64
    /// Ask the destination, before the stun, whether it can resume at once (QEMU's switchover-ack);
    /// without it the source stuns as soon as the policy says so.
    public var switchoverAck = true
    /// How long the source waits for the destination's switchover-ack before giving up (the VM stays).
    public var switchoverAckTimeoutNanoseconds: UInt64 = 5_000_000_000
    /// Which pages of the guest memory the kernel has ever backed (one bit per page, as
    /// `DirtyBitmap` words), read when pre-copy starts and when the frozen memory is verified. A page
    /// it leaves out, and that no write marked dirty, was never written: it is zero, and goes out as a
    /// zero record without being read (reading it would only make the kernel map it). Nil: read every page.
    public var populatedPages: (@Sendable () -> [UInt64]?)?
    /// Lanes (TCP connections) that carry pages, lane 0 included: 1...`MigrationWire.maxLanes`. With 1
    /// the migration is one stream, byte for byte as before lanes existed. The coordinator gives the
    /// destination the same number.
    public var lanes: Int = 1 {
        didSet { lanes = max(1, min(lanes, MigrationWire.maxLanes)) }
    }
    /// What the lanes run over, for the report (`vmk1`, `vmk2`): lane k shows entry k mod the count.
    public var laneInterfaces: [String] = []
    /// Pre-copy, post-copy or hybrid (`MigrationMode`). Post-copy and hybrid use lane 0 only.
    public var mode: MigrationMode = .precopy

    public init(migrationID: MigrationID, secret: MigrationSecret, encryption: MigrationEncryptionMode = .opportunistic,
                convergence: ConvergencePolicy = ConvergencePolicy(),
                setupTimeoutNanoseconds: UInt64 = 10_000_000_000, switchoverTimeoutNanoseconds: UInt64 = 10_000_000_000,
                pagesPerBatch: Int = 64, verifyFrozenMemoryBeforeCommit: Bool = true,
                forwardGraceNanoseconds: UInt64 = 2_000_000_000) {
        self.migrationID = migrationID
        self.secret = secret
        self.encryption = encryption
        self.convergence = convergence
        self.setupTimeoutNanoseconds = setupTimeoutNanoseconds
        self.switchoverTimeoutNanoseconds = switchoverTimeoutNanoseconds
        self.pagesPerBatch = max(1, min(pagesPerBatch, 256))
        self.verifyFrozenMemoryBeforeCommit = verifyFrozenMemoryBeforeCommit
        self.forwardGraceNanoseconds = forwardGraceNanoseconds
        populatedPages = nil
    }
}

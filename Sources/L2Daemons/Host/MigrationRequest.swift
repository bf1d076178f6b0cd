import L2Control
import L2Migration

/// How the coordinator asks for a migration to run (the `migrate-send` arguments, typed).
public struct MigrationRequest: Sendable {
    public var vm: String
    public var id: MigrationID
    public var secret: MigrationSecret
    public var destinationIP: UInt32
    public var destinationPort: UInt16
    public var policy: ConvergencePolicy
    public var forwardGraceNanoseconds: UInt64
    /// Fault injection for the reliability tests: where to pause or misbehave (nil: never).
    public var fault: FaultPlan?
    /// vSphere's encrypted-vMotion modes: disabled, opportunistic (default), required.
    public var encryption: MigrationEncryptionMode = .opportunistic
    /// A stream that accepts no bytes for this long counts as lost (the peer stopped reading).
    public var stallTimeoutNanoseconds: UInt64 = 5_000_000_000
    /// TCP connections carrying the pages (lane 0 included).
    public var streams = 1
    /// Where lane k goes: `paths[k % paths.count]`; empty: every lane from vmk1 to `destinationIP`.
    public var paths: [VMotionPath] = []
    /// Pre-copy, post-copy or hybrid.
    public var mode: MigrationMode = .precopy
}

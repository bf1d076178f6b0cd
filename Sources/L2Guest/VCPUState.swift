/// The VM's "CPU": a few register-like values and the workload's state, carried by a migration as a
/// byte blob (`encoded()` / `init(bytes:)`) at switchover.
public struct VCPUState: Hashable, Sendable, Codable {
    /// Identifies one power-on of the VM; survives migrations, changes on a new power-on.
    public var bootID: UInt64
    /// Nanoseconds of guest run time at 1 instruction per ns (advances while running, not while stunned).
    public var instructionCounter: UInt64
    /// How many migrations this VM has been through (incremented by the destination).
    public var migrationCount: UInt32
    /// The workload's full state (PRNG position, counters, throttle).
    public var workload: WorkloadState

    public init(bootID: UInt64, instructionCounter: UInt64 = 0, migrationCount: UInt32 = 0, workload: WorkloadState) {
        self.bootID = bootID
        self.instructionCounter = instructionCounter
        self.migrationCount = migrationCount
        self.workload = workload
    }

    static let magic: UInt32 = 0x4C32_4350 // "L2CP"
    static let version: UInt16 = 1

    /// A compact little-endian byte blob.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.u32(Self.magic)
        writer.u16(Self.version)
        writer.u64(bootID)
        writer.u64(instructionCounter)
        writer.u32(migrationCount)
        workload.write(to: &writer)
        return writer.bytes
    }

    /// Decodes a blob made by `encoded()`; throws on anything else, never traps.
    public init(bytes: [UInt8]) throws(GuestBlobError) {
        var reader = ByteReader(bytes, what: "vCPU state")
        let magic = try reader.u32()
        guard magic == Self.magic else { throw .badMagic(what: "vCPU state", found: magic) }
        let version = try reader.u16()
        guard version == Self.version else { throw .unsupportedVersion(what: "vCPU state", version: version) }
        bootID = try reader.u64()
        instructionCounter = try reader.u64()
        migrationCount = try reader.u32()
        workload = try WorkloadState(from: &reader)
        try reader.finish()
    }
}

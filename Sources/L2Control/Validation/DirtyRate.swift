import L2Guest

/// How hard a VM's workload writes, in MiB/s (1 MiB/s = 256 pages of 4 KiB per second): `--dirty-rate`
/// of `vm power-on` and `demo`, `dirty-rate` of a topology's VM. It replaces the preset's rate and keeps
/// its working set and pattern; 0 writes nothing.
///
/// Range-checked when made and when decoded (`Limits.dirtyRate`), so a host never holds an unchecked
/// one. On the wire it is a plain number: `{"power-on":{"vm":"web01","datastore":"ds01","dirty-rate":64}}`.
public struct DirtyRate: Codable, Hashable, Sendable, CustomStringConvertible {
    public let mebibytesPerSecond: Double

    public init(mebibytesPerSecond: Double) throws(ConfigurationError) {
        self.mebibytesPerSecond = try Limits.dirtyRate.check(mebibytesPerSecond)
    }

    public init(from decoder: any Decoder) throws {
        try self.init(mebibytesPerSecond: try decoder.singleValueContainer().decode(Double.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(mebibytesPerSecond)
    }

    /// `spec` writing at this rate, with its preset name, working set and pattern.
    public func applied(to spec: WorkloadSpec) -> WorkloadSpec {
        spec.withDirtyRate(mebibytesPerSecond: mebibytesPerSecond)
    }

    public var description: String { "\(WorkloadSpec.formatMebibytes(mebibytesPerSecond)) MiB/s" }
}

import L2Guest

/// The accepted range of one number a user can type (a CLI option, a topology field, a control
/// argument), checked once at the edge so that nothing behind it can trap on a conversion: `inf`, `nan`,
/// `1e20` and negatives are refused with a message naming the option and the range.
public struct NumericLimit: Sendable, Equatable {
    /// How the user writes it: `--downtime`, `memory_mib`.
    public let name: String
    /// What the number counts: "milliseconds", "MiB" (empty for a plain number, like a share).
    public let unit: String
    public let range: ClosedRange<Double>
    /// Whole numbers only.
    public let integral: Bool

    public init(_ name: String, _ unit: String, _ range: ClosedRange<Double>, integral: Bool = false) {
        self.name = name
        self.unit = unit
        self.range = range
        self.integral = integral
    }

    /// `value` if it is finite, in range (and whole, for integral limits); otherwise an error that
    /// says what to type.
    @discardableResult
    public func check(_ value: Double) throws(ConfigurationError) -> Double {
        guard value.isFinite, range.contains(value), !integral || value.rounded() == value else {
            let kind = integral ? "a whole number" : "a finite number"
            throw ConfigurationError("\(name) must be \(kind)\(unit.isEmpty ? "" : " of \(unit)") between \(Self.text(range.lowerBound)) and \(Self.text(range.upperBound)), not \(Self.text(value))")
        }
        return value
    }

    @discardableResult
    public func check(_ value: Int) throws(ConfigurationError) -> Int {
        try check(Double(value))
        return value
    }

    /// The same limit under another name (a topology field, a control argument).
    public func named(_ name: String) -> NumericLimit { NumericLimit(name, unit, range, integral: integral) }

    static func text(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

/// Every numeric limit of l2motion in one table, so the CLI, the topology and the daemons agree.
public enum Limits {
    // migrate / demo
    public static let downtime = NumericLimit("--downtime", "milliseconds", 0.01...100_000)
    public static let switchoverShare = NumericLimit("--switchover-share", "", 0...1)
    public static let maxRounds = NumericLimit("--max-rounds", "rounds", 1...10_000, integral: true)
    public static let maxSeconds = NumericLimit("--max-seconds", "seconds", 0.1...86_400)
    public static let announceMs = NumericLimit("--announce", "milliseconds after resume", 0...60_000, integral: true)
    /// Announces a destination suppresses on purpose (a fault for the failure-mode scenarios).
    public static let dropAnnounces = NumericLimit("--drop-announces", "announces", 0...100, integral: true)
    /// TCP connections carrying the pages of one migration (QEMU's multifd channels, vMotion's streams).
    public static let streams = NumericLimit("--streams", "streams", 1...16, integral: true)
    public static let graceMs = NumericLimit("grace-ms", "milliseconds", 0...60_000)
    public static let stallSeconds = NumericLimit("stall-seconds", "seconds", 0.1...3_600)
    public static let holdMs = NumericLimit("hold-ms", "milliseconds", 0...600_000, integral: true)
    public static let vmMemory = NumericLimit("--memory", "MiB", 1...1_048_576, integral: true)
    public static let vmTouched = NumericLimit("--touched", "MiB", 0...1_048_576, integral: true)
    /// How hard a VM's workload writes (overrides its preset's rate); 0 writes nothing.
    public static let dirtyRate = NumericLimit("--dirty-rate", "MiB/s", 0...WorkloadSpec.maximumMebibytesPerSecond)
    public static let pingInterval = NumericLimit("--ping-interval", "milliseconds", 1...60_000)
    public static let pingSeconds = NumericLimit("--seconds", "seconds", 0.1...1_000_000)
    // switch
    public static let snaplen = NumericLimit("--snaplen", "bytes", 64...262_144, integral: true)
    public static let agingSeconds = NumericLimit("--aging", "seconds", 1...1_000_000)
    public static let busyPollMicroseconds = NumericLimit("--busy-poll-us", "microseconds", 0...1_000_000, integral: true)
    public static let macTableCapacity = NumericLimit("--capacity", "MAC table entries", 1...16_777_216, integral: true)
    public static let mtu = NumericLimit("mtu", "bytes", 68...9_000, integral: true)
    /// How long a station stays on its port after its last frame there before it may move (vde_switch's hold-down).
    public static let moveHoldDown = NumericLimit("--move-holddown", "seconds", 0...3_600)
    /// Moves within the flap window that make a station a flapper; 0 turns flap detection off.
    public static let flapMoves = NumericLimit("--flap-moves", "moves", 0...10_000, integral: true)
    public static let flapWindow = NumericLimit("--flap-window", "seconds", 0.001...3_600)
    // host
    public static let migrationPort = NumericLimit("--migration-port", "", 1...65_535, integral: true)
    public static let hostMemory = NumericLimit("--memory-limit", "MiB", 1...1_048_576, integral: true)
    // runs
    public static let runs = NumericLimit("--runs", "runs", 1...10_000, integral: true)
}

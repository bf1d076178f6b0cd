/// Which pages a workload writes to, within its working set.
public enum WorkloadPattern: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Every page of the working set equally likely.
    case uniform
    /// `hotWriteFraction` of the writes go to the first `hotSetFraction` of the working set.
    case hotCold
    /// Pages in order, wrapping around at the end of the working set.
    case sequential

    public var description: String { rawValue }
}

/// How a workload dirties guest memory: rate, working-set size and pattern. Built from a preset
/// (`idle`, `web`, `db`) or written out in the VM configuration.
///
/// The working set starts at `GuestLayout.firstDataPage` and is clamped to the VM's memory when the
/// workload runs, so a `db` preset on a small VM writes all of its data pages rather than failing.
public struct WorkloadSpec: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The preset this spec came from, if any (kept for display).
    public var preset: String?
    /// Writes per second at 0 % throttle. Each write dirties one page.
    public var pagesPerSecond: Double
    /// Pages the workload writes to.
    public var workingSetPages: Int
    public var pattern: WorkloadPattern
    /// hot/cold only: the share of the working set that is hot (0 < x ≤ 1).
    public var hotSetFraction: Double
    /// hot/cold only: the share of writes that go to the hot set (0 ≤ x ≤ 1).
    public var hotWriteFraction: Double

    public init(preset: String? = nil, pagesPerSecond: Double, workingSetPages: Int, pattern: WorkloadPattern,
                hotSetFraction: Double = 0.1, hotWriteFraction: Double = 0.9) {
        self.preset = preset
        self.pagesPerSecond = pagesPerSecond
        self.workingSetPages = workingSetPages
        self.pattern = pattern
        self.hotSetFraction = hotSetFraction
        self.hotWriteFraction = hotWriteFraction
    }

    /// Timer ticks and little else: 10 pages/s over 1 MiB.
    public static let idle = WorkloadSpec(preset: "idle", pagesPerSecond: 10, workingSetPages: 256, pattern: .uniform)
    /// A web server: 2,000 pages/s over 16 MiB, 90 % of writes to the hottest 10 %.
    public static let web = WorkloadSpec(preset: "web", pagesPerSecond: 2_000, workingSetPages: 4_096, pattern: .hotCold)
    /// A busy database: 40,000 pages/s over 256 MiB, uniform — the hard case for pre-copy.
    public static let db = WorkloadSpec(preset: "db", pagesPerSecond: 40_000, workingSetPages: 65_536, pattern: .uniform)

    /// The highest rate accepted: 10 million pages/s (about 40 GB/s of dirtying).
    public static let maximumPagesPerSecond: Double = 10_000_000

    /// Pages in one MiB: a dirty rate of 1 MiB/s is 256 page writes per second.
    public static let pagesPerMebibyte = 1_048_576 / GuestMemory.pageSize

    /// The highest dirty rate accepted, in MiB/s (`maximumPagesPerSecond` in MiB).
    public static let maximumMebibytesPerSecond = maximumPagesPerSecond / Double(pagesPerMebibyte)

    /// Preset names in the order they are offered in messages.
    public static let presetNames = ["idle", "web", "db"]

    /// The preset called `name` (exact, lower case), or nil.
    public static func preset(named name: String) -> WorkloadSpec? {
        switch name {
        case "idle": .idle
        case "web": .web
        case "db": .db
        default: nil
        }
    }

    /// Every problem with the numbers, as sentences naming the field (empty if valid).
    public func problems() -> [String] {
        var result: [String] = []
        if !(pagesPerSecond >= 0 && pagesPerSecond <= Self.maximumPagesPerSecond) {
            result.append("pagesPerSecond must be in 0...\(Int(Self.maximumPagesPerSecond)), not \(pagesPerSecond)")
        }
        if workingSetPages <= 0 { result.append("workingSetPages must be positive, not \(workingSetPages)") }
        if !(hotSetFraction > 0 && hotSetFraction <= 1) {
            result.append("hotSetFraction must be in (0, 1], not \(hotSetFraction)")
        }
        if !(hotWriteFraction >= 0 && hotWriteFraction <= 1) {
            result.append("hotWriteFraction must be in [0, 1], not \(hotWriteFraction)")
        }
        return result
    }

    public var description: String {
        let mib = Double(workingSetPages) * Double(GuestMemory.pageSize) / 1_048_576
        let head = preset.map { "\($0): " } ?? ""
        let shape = pattern == .hotCold
            ? "hotCold \(Int(hotWriteFraction * 100))% of writes to \(Int(hotSetFraction * 100))% of the set"
            : pattern.rawValue
        return "\(head)\(Int(pagesPerSecond)) pages/s over \(mib) MiB, \(shape)"
    }
}

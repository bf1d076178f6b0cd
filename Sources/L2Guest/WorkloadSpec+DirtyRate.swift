import Foundation

extension WorkloadSpec {
    /// The rate at 0 % throttle in MiB/s (each write dirties one 4 KiB page).
    public var mebibytesPerSecond: Double { pagesPerSecond / Double(Self.pagesPerMebibyte) }

    /// This spec writing `mebibytesPerSecond` MiB/s instead of its own rate; the preset name, working
    /// set and pattern stay. 0 writes nothing. The value is not checked here: `problems()` refuses
    /// what is out of range, and the edges range-check the option first (`Limits.dirtyRate`).
    public func withDirtyRate(mebibytesPerSecond: Double) -> WorkloadSpec {
        var spec = self
        spec.pagesPerSecond = mebibytesPerSecond * Double(Self.pagesPerMebibyte)
        return spec
    }

    /// The workload as reports show it: its preset (or "custom") and its rate, `web at 64 MiB/s`.
    public var rateSummary: String {
        "\(preset ?? "custom") at \(Self.formatMebibytes(mebibytesPerSecond)) MiB/s"
    }

    /// A rate in MiB/s with at most two decimals and no trailing zeros: 64, 7.81, 0.04, 0.5 (two
    /// significant digits below 0.01: 0.0039).
    public static func formatMebibytes(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        // Below 0.01 two decimals would print a rate that writes as "0": keep two significant digits.
        var text = value > 0 && value < 0.01 ? String(format: "%.2g", value) : String(format: "%.2f", value)
        guard text.contains("."), !text.contains("e") else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }
}

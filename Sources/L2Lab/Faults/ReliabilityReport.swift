import Foundation

/// Renders fault-matrix results as the table of `docs/RELIABILITY.md`: one row per fault, one column
/// per moment, each cell "passed/runs" with the typical outcome underneath.
public enum ReliabilityReport {
    /// `build` says which code ran (a binary and the commit of its checkout), so the figures carry their source.
    public static func markdown(_ runs: [FaultRun], command: String, build: String? = nil, date: Date = Date()) -> String {
        let faults = InjectedFault.allCases.filter { fault in runs.contains { $0.fault == fault } }
        let moments = FaultMoment.allCases.filter { moment in runs.contains { $0.moment == moment } }
        var lines = ["# Reliability: faults during a live migration", ""]
        lines.append("Measured with `\(command)` on \(ISO8601DateFormatter().string(from: date))" + (build.map { ", \($0)" } ?? "") + ".")
        lines.append("Each cell: runs whose invariants held / runs. Invariants: the VM answers from exactly one host")
        lines.append("(never two: no duplicate ping replies; never none, unless its source was killed before the")
        lines.append("switchover), the UDP counter in guest memory never goes backwards, and the lab migrates the VM")
        lines.append("again afterwards (when both hosts are alive).")
        lines.append("")
        lines.append("| fault | " + moments.map(\.rawValue).joined(separator: " | ") + " |")
        lines.append("|---|" + moments.map { _ in "---" }.joined(separator: "|") + "|")
        for fault in faults {
            var row = "| \(fault.rawValue) |"
            for moment in moments {
                let cell = runs.filter { $0.fault == fault && $0.moment == moment }
                let passed = cell.filter(\.passed).count
                row += " \(passed)/\(cell.count) |"
            }
            lines.append(row)
        }
        lines.append("")
        lines.append("## What happened (typical outcome per cell)")
        lines.append("")
        for fault in faults {
            for moment in moments {
                let cell = runs.filter { $0.fault == fault && $0.moment == moment }
                guard let first = cell.first else { continue }
                let outcomes = Dictionary(grouping: cell.map { simplify($0.outcome) }, by: { $0 }).mapValues(\.count)
                let text = outcomes.sorted { $0.value > $1.value }.map { "\($0.key) (×\($0.value))" }.joined(separator: "; ")
                let down = moment == .postcopy
                    ? " — a host died after the post-copy switchover: the VM is lost by design (post-copy's exception)"
                    : " — the source itself died before the switchover, so the VM is down by design"
                lines.append("- **\(fault.rawValue) at \(moment.rawValue)**: \(text)" + (first.expectedDown ? down : ""))
                for failed in cell where !failed.passed {
                    lines.append("  - FAILED: " + failed.problems.joined(separator: "; "))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Outcome text without run-specific numbers, so identical outcomes group together.
    static func simplify(_ text: String) -> String {
        let cut = text.count > 160 ? String(text.prefix(160)) + "…" : text
        return cut.replacingOccurrences(of: #"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"#, with: "<id>", options: .regularExpression)
    }
}

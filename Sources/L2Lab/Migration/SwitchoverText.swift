import Foundation
import L2Migration

/// The switchover's phases in words, for the text summary and `report.md`: what the downtime was
/// spent on, and what came just before the freeze and just after the resume.
public enum SwitchoverText {
    /// "freeze 0.002 + state capture 0.005 + … + resume 0.031 = 0.912 ms", or nil without phases.
    public static func downtime(_ timeline: SwitchoverTimeline) -> String? {
        let phases = timeline.phases.filter(\.inDowntime)
        guard !phases.isEmpty else { return nil }
        let total = phases.reduce(0) { $0 + $1.milliseconds }
        return phases.map { "\(label($0.name)) \(milliseconds($0.milliseconds))" }.joined(separator: " + ")
            + " = \(milliseconds(total)) ms"
    }

    /// "switchover-ack 0.210 ms, drain 0.050 ms before the freeze; acknowledgement 0.200 ms, first
    /// announce 0.100 ms after the resume", or nil when none is known.
    public static func around(_ timeline: SwitchoverTimeline) -> String? {
        let phases = timeline.phases
        let before = phases.filter { !$0.inDowntime && ["switchover-ack", "drain"].contains($0.name) }
        let after = phases.filter { !$0.inDowntime && !["switchover-ack", "drain"].contains($0.name) }
        var parts: [String] = []
        if !before.isEmpty {
            parts.append(before.map { "\(label($0.name)) \(milliseconds($0.milliseconds)) ms" }.joined(separator: ", ") + " before the freeze (VM running)")
        }
        if !after.isEmpty {
            parts.append(after.map { "\(label($0.name)) \(milliseconds($0.milliseconds)) ms" }.joined(separator: ", ") + " after the resume")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// A phase's name for people: `state-capture` → "state capture".
    public static func label(_ name: String) -> String {
        name == "switchover-ack" ? name : name.replacingOccurrences(of: "-", with: " ")
    }

    static func milliseconds(_ value: Double) -> String { String(format: "%.3f", value) }
}

import Foundation
import L2Migration

/// Post-copy's figures in words, for the text report and the timeline.
public enum PostcopyText {
    /// "312 pages (1.2 MiB) after the switchover in 41.3 ms; 5 postcopy-requests (5 pages, 0 already
    /// sent); fault latency p50 0.42, p99 0.91, max 0.95 ms over 5 faults; 0 duplicate pages";
    /// nil for pre-copy.
    public static func summary(_ result: MigrationResult) -> String? {
        guard let stats = result.postcopy else { return nil }
        var parts = ["\(stats.pages) pages (\(bytes(stats.bytes))) after the switchover"
            + (stats.durationMs.map { String(format: " in %.1f ms", $0) } ?? "")]
        parts.append("\(stats.requests) postcopy-requests (\(stats.requestedPages) pages, \(stats.requestedAlreadySent) already sent)")
        if let p50 = stats.faultLatencyP50Ms, let p99 = stats.faultLatencyP99Ms, let max = stats.faultLatencyMaxMs {
            parts.append(String(format: "fault latency p50 %.2f, p99 %.2f, max %.2f ms over %d faults", p50, p99, max, stats.faults ?? 0))
        } else if let faults = stats.faults {
            parts.append("\(faults) faults")
        }
        if let duplicates = stats.duplicatePages { parts.append("\(duplicates) duplicate pages") }
        if stats.pauses > 0 { parts.append(String(format: "paused %d time(s), %.1f ms in all", stats.pauses, stats.pausedMs)) }
        return (result.mode.map { "\($0.rawValue): " } ?? "") + parts.joined(separator: "; ")
    }

    static func bytes(_ count: Int) -> String {
        count >= 1 << 20 ? String(format: "%.1f MiB", Double(count) / 1_048_576) : String(format: "%.1f KiB", Double(count) / 1024)
    }
}
